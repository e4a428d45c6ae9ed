package translate

// TranslatedProblemsLookups returns how many lookups of the cross-snapshot problem cache hit and
// missed so far.
func TranslatedProblemsLookups() (hits, misses int) {
	c := &translatedProblems
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
