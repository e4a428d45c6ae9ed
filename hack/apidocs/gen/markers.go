package gen

import (
	"fmt"
	"strconv"
	"strings"
)

// Marker is one `+name`, `+name=value` or `+name:key=value,...` comment line, as controller-gen
// reads it.
type Marker struct {
	Name  string
	Value string            // for +name=value
	Args  map[string]string // for markers that take key=value arguments
}

// argMarkers take key=value arguments after their name; every other marker is +name or +name=value.
var argMarkers = []string{
	"kubebuilder:validation:XValidation",
	"kubebuilder:printcolumn",
	"kubebuilder:resource",
}

// splitDoc separates a comment's prose from its marker lines (those starting with "+").
func splitDoc(text string) (prose string, markers []string) {
	var lines []string
	for line := range strings.SplitSeq(text, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "+") {
			markers = append(markers, t)
			continue
		}
		lines = append(lines, line)
	}
	return strings.TrimSpace(strings.Join(lines, "\n")), markers
}

// parseMarker parses one marker line (with or without its leading "+").
func parseMarker(line string) (Marker, error) {
	line = strings.TrimPrefix(strings.TrimSpace(line), "+")
	for _, name := range argMarkers {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			args, err := parseArgs(rest)
			if err != nil {
				return Marker{}, fmt.Errorf("marker +%s: %w", name, err)
			}
			return Marker{Name: name, Args: args}, nil
		}
	}
	name, value, _ := strings.Cut(line, "=")
	if name == "" {
		return Marker{}, fmt.Errorf("marker %q has no name", "+"+line)
	}
	return Marker{Name: name, Value: value}, nil
}

// parseArgs reads key=value pairs separated by commas. A value is a Go string literal ("..." or
// `...`), a {list,in,braces}, or plain text up to the next comma.
func parseArgs(s string) (map[string]string, error) {
	args := map[string]string{}
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("want key=value, got %q", s)
		}
		var value string
		switch {
		case strings.HasPrefix(rest, `"`) || strings.HasPrefix(rest, "`"):
			lit, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("argument %s: unterminated or malformed string %s", key, rest)
			}
			value, _ = strconv.Unquote(lit)
			rest = rest[len(lit):]
		case strings.HasPrefix(rest, "{"):
			end := strings.Index(rest, "}")
			if end < 0 {
				return nil, fmt.Errorf("argument %s: no closing } in %s", key, rest)
			}
			value, rest = rest[1:end], rest[end+1:]
		default:
			value, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
			if rest == "," {
				rest = ""
			}
		}
		if _, dup := args[key]; dup {
			return nil, fmt.Errorf("argument %s given twice", key)
		}
		args[key] = value
		if rest != "" && !strings.HasPrefix(rest, ",") {
			return nil, fmt.Errorf("argument %s: want a comma after its value, got %q", key, rest)
		}
		s = strings.TrimPrefix(rest, ",")
	}
	return args, nil
}

// Markers is the marker list of one type or field, in source order.
type Markers []Marker

// Has reports whether a marker of that name is present.
func (ms Markers) Has(name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

// Value returns the value of the first marker of that name.
func (ms Markers) Value(name string) (string, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m.Value, true
		}
	}
	return "", false
}

// All returns the markers of that name.
func (ms Markers) All(name string) []Marker {
	var out []Marker
	for _, m := range ms {
		if m.Name == name {
			out = append(out, m)
		}
	}
	return out
}

const validation = "kubebuilder:validation:"

// bounds are the Minimum/Maximum-style markers that render together as one "lo ≤ what ≤ hi" line.
var bounds = []struct{ what, min, max string }{
	{"value", "Minimum", "Maximum"},
	{"length", "MinLength", "MaxLength"},
	{"items", "MinItems", "MaxItems"},
	{"entries", "MinProperties", "MaxProperties"},
}

// notValidation are markers that say nothing a reader must know about the accepted values, or are
// shown elsewhere (required/optional, kind metadata).
var notValidation = map[string]bool{
	"optional": true, "required": true, "kubebuilder:validation:Optional": true,
	"kubebuilder:validation:Required": true, "listMapKey": true, "listType": true,
}

// Validation summarises the validation markers in short lines, in a fixed order: enum, bounds,
// pattern and format, list semantics, CEL rules (by message), then anything else under
// its own name so no rule is silently left out. Markers of list items ("items:" prefix) come
// after, each line prefixed "each item: ".
func (ms Markers) Validation() []string {
	var own, items Markers
	for _, m := range ms {
		if rest, ok := strings.CutPrefix(m.Name, validation+"items:"); ok {
			items = append(items, Marker{Name: validation + rest, Value: m.Value, Args: m.Args})
			continue
		}
		own = append(own, m)
	}
	lines := own.validation()
	if ls, ok := own.Value("listType"); ok {
		switch ls {
		case "set":
			lines = append(lines, "items are unique")
		case "map":
			keys := []string{}
			for _, k := range own.All("listMapKey") {
				keys = append(keys, "`"+k.Value+"`")
			}
			lines = append(lines, "items are unique by "+strings.Join(keys, " and "))
		}
	}
	for _, l := range items.validation() {
		lines = append(lines, "each item: "+l)
	}
	return lines
}

func (ms Markers) validation() []string {
	var lines []string
	if v, ok := ms.Value(validation + "Enum"); ok {
		vals := strings.Split(v, ";")
		for i, s := range vals {
			vals[i] = "`" + s + "`"
		}
		lines = append(lines, "one of "+strings.Join(vals, ", "))
	}
	done := map[string]bool{validation + "Enum": true, validation + "XValidation": true}
	for _, b := range bounds {
		lo, hasLo := ms.Value(validation + b.min)
		hi, hasHi := ms.Value(validation + b.max)
		done[validation+b.min], done[validation+b.max] = true, true
		switch {
		case hasLo && hasHi:
			lines = append(lines, fmt.Sprintf("%s ≤ %s ≤ %s", lo, b.what, hi))
		case hasLo:
			lines = append(lines, fmt.Sprintf("%s ≥ %s", b.what, lo))
		case hasHi:
			lines = append(lines, fmt.Sprintf("%s ≤ %s", b.what, hi))
		}
	}
	for _, simple := range []struct{ name, label string }{
		{validation + "Pattern", "matches"}, {validation + "Format", "format"},
	} {
		if v, ok := ms.Value(simple.name); ok {
			lines = append(lines, simple.label+" `"+strings.Trim(v, "`")+"`")
			done[simple.name] = true
		}
	}
	for _, m := range ms.All(validation + "XValidation") {
		if msg := m.Args["message"]; msg != "" {
			lines = append(lines, "rule: "+msg)
		} else {
			lines = append(lines, "rule: `"+m.Args["rule"]+"`")
		}
	}
	for _, m := range ms {
		if done[m.Name] || notValidation[m.Name] || !strings.HasPrefix(m.Name, validation) {
			continue
		}
		line := strings.TrimPrefix(m.Name, validation)
		if m.Value != "" {
			line += " `" + m.Value + "`"
		}
		lines = append(lines, line)
	}
	return lines
}
