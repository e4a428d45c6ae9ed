package envoy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Why not sigs.k8s.io/yaml: its go-yaml v2 emitter and parser took >90% of
// Render's time (1.5 s for a 1,000-cluster proxy). The files only ever hold
// protojson's JSON data model (objects, arrays, strings, numbers, booleans,
// null), so this file writes that as block YAML with sorted keys, quoting
// every string a YAML 1.1 or 1.2 reader (go-yaml, Envoy's yaml-cpp) could
// take for anything but a string, and reads back exactly that subset,
// rejecting the rest. Tests check both against go-yaml.

// decodeJSON parses JSON into generic values, numbers kept as written (no
// float64 rounding).
func decodeJSON(j []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonToYAMLItem writes a JSON object as one item of a block sequence at
// column 0, exactly as jsonToYAML writes each item of such a sequence.
func jsonToYAMLItem(j []byte) ([]byte, error) {
	v, err := decodeJSON(j)
	if err != nil {
		return nil, err
	}
	w := yamlWriter{b: make([]byte, 0, len(j)+len(j)/4)}
	w.sequence([]any{v}, 0, false)
	return w.b, w.err
}

// jsonToYAML converts a JSON document whose top level is an object.
func jsonToYAML(j []byte) ([]byte, error) {
	v, err := decodeJSON(j)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("YAML document must be a JSON object, got %T", v)
	}
	w := yamlWriter{b: make([]byte, 0, len(j)+len(j)/4)}
	if len(m) == 0 {
		return []byte("{}\n"), nil
	}
	w.mapping(m, 0, false)
	return w.b, w.err
}

type yamlWriter struct {
	b   []byte
	err error
}

// maxKeyBytes: YAML caps implicit keys at 1024 characters; bytes are a
// conservative count of them.
const maxKeyBytes = 1024

func (w *yamlWriter) indent(n int) {
	for range n {
		w.b = append(w.b, ' ')
	}
}

// mapping writes m at column n; inline means the cursor already stands at
// column n (after "- ").
func (w *yamlWriter) mapping(m map[string]any, n int, inline bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 || !inline {
			w.indent(n)
		}
		start := len(w.b)
		w.b = appendScalarString(w.b, k)
		if len(w.b)-start > maxKeyBytes && w.err == nil {
			w.err = fmt.Errorf("map key %.40q... is %d bytes written: YAML allows at most 1024 characters in a key", k, len(w.b)-start)
		}
		w.b = append(w.b, ':')
		switch v := m[k].(type) {
		case map[string]any:
			if len(v) == 0 {
				w.b = append(w.b, " {}\n"...)
				continue
			}
			w.b = append(w.b, '\n')
			w.mapping(v, n+2, false)
		case []any:
			if len(v) == 0 {
				w.b = append(w.b, " []\n"...)
				continue
			}
			w.b = append(w.b, '\n')
			w.sequence(v, n, false) // go-yaml style: "- " at the key's column
		default:
			w.b = append(w.b, ' ')
			w.scalar(v)
			w.b = append(w.b, '\n')
		}
	}
}

func (w *yamlWriter) sequence(l []any, n int, inline bool) {
	for i, item := range l {
		if i > 0 || !inline {
			w.indent(n)
		}
		w.b = append(w.b, "- "...)
		switch v := item.(type) {
		case map[string]any:
			if len(v) == 0 {
				w.b = append(w.b, "{}\n"...)
				continue
			}
			w.mapping(v, n+2, true)
		case []any:
			if len(v) == 0 {
				w.b = append(w.b, "[]\n"...)
				continue
			}
			w.sequence(v, n+2, true)
		default:
			w.scalar(v)
			w.b = append(w.b, '\n')
		}
	}
}

func (w *yamlWriter) scalar(v any) {
	switch v := v.(type) {
	case string:
		w.b = appendScalarString(w.b, v)
	case json.Number:
		w.b = append(w.b, v...)
	case bool:
		w.b = strconv.AppendBool(w.b, v)
	case nil:
		w.b = append(w.b, "null"...)
	default:
		panic(fmt.Sprintf("envoy: unexpected JSON value %T", v)) // json.Decoder yields only the above
	}
}

// appendScalarString writes s plain when no YAML reader can mistake it,
// double-quoted otherwise.
func appendScalarString(b []byte, s string) []byte {
	if plainSafe(s) {
		return append(b, s...)
	}
	return appendDoubleQuoted(b, s)
}

// plainSafe: a conservative plain-scalar test. Only these characters, no
// indicator first, no ':' last (a "key:" reading), and nothing a YAML 1.1
// or 1.2 core schema resolves to a bool, null or number (ints in any base,
// floats, sexagesimals, .inf/.nan).
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '.' || c == '/' || c == '-' || c == '|' || c == ':' || c == '@' || c == '+' || c == '=' || c == ',' || c == ';' || c == '(' || c == ')' || c == '$' || c == '^':
			if i == 0 && (c == '-' || c == '|' || c == ':' || c == '@' || c == ',' || c == '+' || c == '=') {
				return false
			}
		default:
			return false
		}
	}
	if s[len(s)-1] == ':' {
		return false
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null", ".inf", ".nan", "-.inf", "+.inf":
		return false
	}
	if c := s[0]; ('0' <= c && c <= '9' || c == '.') && mayBeNumber(s) {
		// Possibly a number: 0x1f, 0o17, 017, 0b1, 1_000, 1e3, .5, 1:20 (base 60).
		if strings.ContainsRune(s, ':') {
			return false
		}
		t := strings.ReplaceAll(s, "_", "")
		if _, err := strconv.ParseInt(t, 0, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseUint(t, 0, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return false
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return false
		}
		if strings.ContainsAny(s, "eE") && strings.Trim(t, "0123456789.eE+-") == "" {
			return false // YAML 1.1 floats Go does not parse, e.g. "1.e5"
		}
	}
	switch strings.ToLower(s) {
	case "inf", "infinity", "nan":
		return false // floats to strconv; harmless in YAML, quoted anyway
	}
	return true
}

// mayBeNumber is a cheap filter before strconv (whose failures allocate):
// only these characters occur in YAML 1.1/1.2 ints, floats and sexagesimals.
func mayBeNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		case c == '.' || c == '_' || c == ':' || c == '+' || c == '-' || c == 'x' || c == 'X' || c == 'o' || c == 'O':
		default:
			return false
		}
	}
	return true
}

// appendDoubleQuoted escapes what YAML 1.1 or 1.2 would not read back as
// the same characters: quotes, backslashes, control characters, and the
// Unicode line breaks and BOM.
func appendDoubleQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r < 0x20 || r == 0x7f || (0x80 <= r && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff || r == utf8.RuneError:
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// yamlToJSON reads back the YAML jsonToYAML writes (and nothing else:
// anchors, tags, flow collections, block scalars, comments, tabs and
// duplicate keys are errors) and returns it as JSON.
func yamlToJSON(y []byte) ([]byte, error) {
	p := &yamlReader{out: make([]byte, 0, len(y))}
	text := string(y)
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("YAML: missing final newline")
	}
	if text == "{}\n" {
		return []byte("{}"), nil
	}
	p.lines = make([]yamlLine, 0, strings.Count(text, "\n"))
	for ln := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		n := len(ln) - len(strings.TrimLeft(ln, " "))
		p.lines = append(p.lines, yamlLine{indent: n, text: ln[n:]})
	}
	if _, _, isKey, _ := splitKey(p.lines[0].text); p.lines[0].indent != 0 || !isKey {
		return nil, p.errorf("document must start with a key at column 0")
	}
	if err := p.mapping(0); err != nil {
		return nil, err
	}
	if p.i != len(p.lines) {
		return nil, p.errorf("unexpected indentation")
	}
	return p.out, nil
}

type yamlLine struct {
	indent int
	text   string
}

type yamlReader struct {
	lines []yamlLine
	i     int
	out   []byte
}

func (p *yamlReader) errorf(format string, args ...any) error {
	return fmt.Errorf("YAML line %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

// node reads the block node starting on the current line at column n.
func (p *yamlReader) node(n int) error {
	l := p.lines[p.i]
	if l.indent != n {
		return p.errorf("indentation %d, want %d", l.indent, n)
	}
	if strings.HasPrefix(l.text, "- ") {
		return p.sequence(n)
	}
	if _, _, isKey, err := splitKey(l.text); err != nil {
		return p.errorf("%v", err)
	} else if isKey {
		return p.mapping(n)
	}
	if err := p.scalar(l.text); err != nil {
		return p.errorf("%v", err)
	}
	p.i++
	return nil
}

func (p *yamlReader) mapping(n int) error {
	p.out = append(p.out, '{')
	seen := map[string]bool{}
	for first := true; p.i < len(p.lines) && p.lines[p.i].indent == n && !strings.HasPrefix(p.lines[p.i].text, "- "); first = false {
		key, rest, isKey, err := splitKey(p.lines[p.i].text)
		if err != nil || !isKey {
			return p.errorf("want a key: %q", p.lines[p.i].text)
		}
		if seen[key] {
			return p.errorf("duplicate key %q", key)
		}
		seen[key] = true
		if !first {
			p.out = append(p.out, ',')
		}
		p.out = appendJSONString(p.out, key)
		p.out = append(p.out, ':')
		if rest != "" {
			if err := p.scalar(rest); err != nil {
				return p.errorf("%v", err)
			}
			p.i++
			continue
		}
		p.i++
		switch {
		case p.i < len(p.lines) && p.lines[p.i].indent == n+2 && !strings.HasPrefix(p.lines[p.i].text, "- "):
			err = p.node(n + 2)
		case p.i < len(p.lines) && p.lines[p.i].indent == n && strings.HasPrefix(p.lines[p.i].text, "- "):
			err = p.sequence(n)
		default:
			return p.errorf("key %q has no value", key)
		}
		if err != nil {
			return err
		}
	}
	p.out = append(p.out, '}')
	return nil
}

func (p *yamlReader) sequence(n int) error {
	p.out = append(p.out, '[')
	for first := true; p.i < len(p.lines) && p.lines[p.i].indent == n && strings.HasPrefix(p.lines[p.i].text, "- "); first = false {
		if !first {
			p.out = append(p.out, ',')
		}
		// The item starts two columns right of "- ": read it as if it
		// stood on its own line there.
		p.lines[p.i] = yamlLine{indent: n + 2, text: p.lines[p.i].text[2:]}
		if err := p.node(n + 2); err != nil {
			return err
		}
	}
	p.out = append(p.out, ']')
	return nil
}

// splitKey splits "key: value" or "key:" ; isKey is false for a scalar.
func splitKey(text string) (key, rest string, isKey bool, err error) {
	if strings.HasPrefix(text, `"`) {
		s, n, err := readDoubleQuoted(text)
		if err != nil {
			return "", "", false, err
		}
		after := text[n:]
		switch {
		case after == "":
			return "", "", false, nil
		case after == ":":
			return s, "", true, nil
		case strings.HasPrefix(after, ": "):
			return s, after[2:], true, nil
		}
		return "", "", false, fmt.Errorf("text after quoted string: %q", after)
	}
	if i := strings.Index(text, ": "); i >= 0 {
		key, rest = text[:i], text[i+2:]
	} else if strings.HasSuffix(text, ":") {
		key = text[:len(text)-1]
	} else {
		return "", "", false, nil
	}
	if !plainSafe(key) {
		return "", "", false, fmt.Errorf("key %q should have been quoted", key)
	}
	return key, rest, true, nil
}

// scalar appends the JSON of a YAML scalar: {} and [], quoted strings, and
// plain scalars resolved by the YAML core schema (our writer quotes every
// other string).
func (p *yamlReader) scalar(text string) error {
	switch {
	case text == "{}":
		p.out = append(p.out, "{}"...)
	case text == "[]":
		p.out = append(p.out, "[]"...)
	case text == "true" || text == "false" || text == "null":
		p.out = append(p.out, text...)
	case strings.HasPrefix(text, `"`):
		s, n, err := readDoubleQuoted(text)
		if err != nil {
			return err
		}
		if n != len(text) {
			return fmt.Errorf("text after quoted string: %q", text[n:])
		}
		p.out = appendJSONString(p.out, s)
	case (text[0] == '-' || '0' <= text[0] && text[0] <= '9') && mayBeNumber(text) && json.Valid([]byte(text)):
		p.out = append(p.out, text...) // a JSON number, as protojson wrote it
	case plainSafe(text):
		p.out = appendJSONString(p.out, text)
	default:
		return fmt.Errorf("unsupported scalar %q", text)
	}
	return nil
}

// readDoubleQuoted decodes the escapes appendDoubleQuoted writes; n is the
// length consumed, closing quote included.
func readDoubleQuoted(text string) (s string, n int, err error) {
	var b strings.Builder
	for i := 1; i < len(text); {
		c := text[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(text) {
				return "", 0, fmt.Errorf("unterminated escape")
			}
			switch e := text[i+1]; e {
			case '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if i+6 > len(text) {
					return "", 0, fmt.Errorf("short \\u escape")
				}
				r, err := strconv.ParseUint(text[i+2:i+6], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("bad \\u escape: %v", err)
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", 0, fmt.Errorf("unsupported escape \\%c", e)
			}
			i += 2
		default:
			if c < 0x20 {
				return "", 0, fmt.Errorf("control character in quoted string")
			}
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted string")
}

// appendJSONString quotes s for JSON; s must be valid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
