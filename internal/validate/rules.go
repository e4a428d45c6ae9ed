package validate

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// maxRegexLen is Istio's limit on regex length, standing in for Envoy's RE2 program-size limit.
const maxRegexLen = 1024

// checkRegex returns (reason, error): RE2 syntax (Go's regexp is RE2) and at most 1024 characters.
func checkRegex(re string) (string, error) {
	if len(re) > maxRegexLen {
		return ReasonRegexTooLong, fmt.Errorf("regex is %d characters long, the maximum is %d", len(re), maxRegexLen)
	}
	if _, err := regexp.Compile(re); err != nil {
		return ReasonInvalidRegex, fmt.Errorf("%w (RE2 syntax: https://github.com/google/re2/wiki/Syntax)", err)
	}
	return "", nil
}

// retryOnConditions are Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions.
var retryOnConditions = []string{
	// HTTP (x-envoy-retry-on)
	"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx",
	"refused-stream", "retriable-status-codes", "retriable-headers", "envoy-ratelimited",
	"http3-post-connect-failure",
	// gRPC (x-envoy-retry-grpc-on)
	"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
}

// badRetryOn returns the comma-separated tokens of retryOn that are neither an Envoy retry
// condition nor a known HTTP status code. Tokens are not trimmed: "5xx, reset" is invalid.
func badRetryOn(retryOn string) []string {
	var bad []string
	for tok := range strings.SplitSeq(retryOn, ",") {
		if slices.Contains(retryOnConditions, tok) {
			continue
		}
		if code, err := strconv.Atoi(tok); err == nil && http.StatusText(code) != "" {
			continue
		}
		bad = append(bad, tok)
	}
	return bad
}

// isPrime decides primality exactly as Envoy does for the Maglev table size (so 0 is not prime,
// 1 is).
func isPrime(x uint64) bool {
	if x != 0 && x < 4 {
		return true
	}
	if x%2 == 0 {
		return false
	}
	limit := uint64(math.Sqrt(float64(x)))
	for f := uint64(3); f <= limit; f += 2 {
		if x%f == 0 {
			return false
		}
	}
	return true
}

// locality is "region[/zone[/subzone]]"; '*' may end it once ("us-east/*").
type locality struct{ region, zone, subzone string }

func (l locality) depth() int {
	switch {
	case l.subzone != "":
		return 3
	case l.zone != "":
		return 2
	}
	return 1
}

func parseLocality(s string) (locality, error) {
	if n := strings.Count(s, "*"); n > 1 || n == 1 && !strings.HasSuffix(s, "*") {
		return locality{}, fmt.Errorf("locality %q: '*' may appear once, at the end", s)
	}
	parts := strings.SplitN(s, "/", 3)
	if slices.Contains(parts, "") {
		return locality{}, fmt.Errorf("locality %q must not hold an empty region, zone or subzone", s)
	}
	var l locality
	l.region = parts[0]
	if len(parts) > 1 {
		l.zone = parts[1]
	}
	if len(parts) > 2 {
		l.subzone = parts[2]
	}
	return l, nil
}

// shadows reports whether an earlier locality p already claims what a later locality l names, the
// way Istio decides it: p covers l when p is "*", or p is l's region, zone or equal, or p holds a
// literal "*" at a level where it agrees with l above. A later "*" does not look back: ["us/z1",
// "us/*"] is accepted, ["us/*", "us/z1"] is not.
func shadows(p, l locality) bool {
	switch {
	case p.region == "*":
		return true
	case p.region != l.region:
		return false
	case l.depth() == 1, p.depth() == 1, p.zone == "*":
		return true
	case p.zone != l.zone:
		return false
	case l.depth() == 2, p.depth() == 2, p.subzone == "*":
		return true
	}
	return p.subzone == l.subzone
}

// checkLocalities returns the index of the first locality that is malformed or overlaps an
// earlier one (see shadows), with the error; -1 when all are fine.
func checkLocalities(ls []string) (int, error) {
	seen := make([]locality, 0, len(ls))
	for i, s := range ls {
		l, err := parseLocality(s)
		if err != nil {
			return i, err
		}
		for j, prev := range seen {
			if shadows(prev, l) {
				return i, fmt.Errorf("locality %q overlaps %q", s, ls[j])
			}
		}
		seen = append(seen, l)
	}
	return -1, nil
}
