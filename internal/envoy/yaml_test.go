package envoy

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// Strings a YAML reader could take for something else, or that break the
// line structure: each must come back as the same string.
var trickyStrings = []string{
	"", " ", "a b", " lead", "trail ", "yes", "No", "ON", "off", "y", "N", "true", "False", "null", "Null", "~",
	"0", "-1", "+1", "017", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.e5", "1E+3", ".5", "5.", "1:20", "190:20:30",
	".inf", "-.Inf", ".NaN", "inf", "Infinity", "nan", "NaN", "0.0.0.0_9080", "10.0.1.7", "0.250s", "1.0", "1.2.3",
	"a: b", "a:", ":a", "a:b", "- x", "-", "--", "---", "...", "? x", "#x", "a #b", "a#b", "@type", "!tag", "&a", "*a", "%x",
	"|", ">", "'q'", `"q"`, "[x]", "{x}", "a,b", ",", "=", "<<", "a\nb", "a\tb", "a\rb", "back\\slash", "é", "日本",
	"\u0085", "\u2028", "\u2029", "\ufeff", "\x7f", "\x00", "\x1b", "outbound|9080|v1|reviews.default.svc.cluster.local",
	"/stats/prometheus", "^/api/(v1|v2)/.*$", "connect-failure,refused-stream", "$1", "a=b", "x;y",
}

func tricky(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(trickyStrings[r.IntN(len(trickyStrings))])
		}
		return b.String()
	}
	return trickyStrings[r.IntN(len(trickyStrings))]
}

func randomJSON(r *rand.Rand, depth int) any {
	k := r.IntN(10)
	if depth > 4 {
		k = 5 + r.IntN(5)
	}
	switch k {
	case 0, 1, 2:
		m := map[string]any{}
		for range r.IntN(4) {
			m[tricky(r)] = randomJSON(r, depth+1)
		}
		return m
	case 3, 4:
		l := []any{}
		for range r.IntN(4) {
			l = append(l, randomJSON(r, depth+1))
		}
		return l
	case 5:
		return json.Number([]string{"0", "-7", "15000", "0.5", "1e+21", "-2.5e-07"}[r.IntN(6)])
	case 6:
		return r.IntN(2) == 0
	case 7:
		return nil
	default:
		return tricky(r)
	}
}

// canonJSON decodes JSON into generic values with numbers as float64, to
// compare documents across parsers that type numbers differently.
func canonJSON(t *testing.T, j []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatalf("%v in %s", err, j)
	}
	return v
}

// checkYAML: our writer's output reads back to the same JSON with our
// reader, with go-yaml v2 (YAML 1.1, sigs.k8s.io/yaml) and with go-yaml v3
// (YAML 1.2).
func checkYAML(t *testing.T, doc map[string]any) {
	t.Helper()
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := canonJSON(t, j)
	y, err := jsonToYAML(j)
	if err != nil {
		if strings.Contains(err.Error(), "at most 1024 characters in a key") {
			return // refused, with a clear message
		}
		t.Fatalf("jsonToYAML: %v", err)
	}
	ours, err := yamlToJSON(y)
	if err != nil {
		t.Fatalf("yamlToJSON: %v\n%s", err, y)
	}
	if got := canonJSON(t, ours); !reflect.DeepEqual(got, want) {
		t.Fatalf("our reader:\n got %v\nwant %v\nYAML:\n%s", got, want, y)
	}
	v2, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		t.Fatalf("go-yaml v2: %v\n%s", err, y)
	}
	if got := canonJSON(t, v2); !reflect.DeepEqual(got, want) {
		t.Fatalf("go-yaml v2:\n got %v\nwant %v\nYAML:\n%s", got, want, y)
	}
	var n yamlv3.Node
	if err := yamlv3.Unmarshal(y, &n); err != nil {
		t.Fatalf("go-yaml v3: %v\n%s", err, y)
	}
	var v3 any
	if err := n.Decode(&v3); err != nil {
		t.Fatalf("go-yaml v3: %v\n%s", err, y)
	}
	j3, err := json.Marshal(v3)
	if err != nil {
		t.Fatalf("go-yaml v3 result: %v", err)
	}
	if got := canonJSON(t, j3); !reflect.DeepEqual(got, want) {
		t.Fatalf("go-yaml v3:\n got %v\nwant %v\nYAML:\n%s", got, want, y)
	}
	// Every plain scalar is a string in both YAML versions: a plain
	// scalar that v3 tags otherwise slipped through plainSafe.
	checkPlainTags(t, &n, y)
}

func checkPlainTags(t *testing.T, n *yamlv3.Node, y []byte) {
	t.Helper()
	if n.Kind == yamlv3.ScalarNode && n.Style == 0 && n.Tag == "!!str" {
		if !plainSafe(n.Value) {
			t.Fatalf("plain scalar %q is not plainSafe\n%s", n.Value, y)
		}
		if yamlCppTypes(n.Value) {
			t.Fatalf("plain scalar %q would not be a string to Envoy\n%s", n.Value, y)
		}
	}
	for _, c := range n.Content {
		checkPlainTags(t, c, y)
	}
}

// yamlCppTypes mirrors how Envoy turns a plain YAML scalar into JSON
// (source/common/protobuf/yaml_utility.cc): yaml-cpp's bool conversion, then
// its int64 conversion (C++ stream with base auto-detection, trailing
// whitespace allowed); anything else stays a string.
func yamlCppTypes(s string) bool {
	for _, w := range []string{"y", "n", "yes", "no", "true", "false", "on", "off"} {
		if s == w || s == strings.ToUpper(w) || s == strings.ToUpper(w[:1])+w[1:] {
			return true
		}
	}
	return cppInt.MatchString(s)
}

var cppInt = regexp.MustCompile(`^[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\s*$`)

func TestYAMLCppTypes(t *testing.T) {
	for s, want := range map[string]bool{"Yes": true, "OFF": true, "0x1F": true, "017": true, "-5": true, "yEs": false, "0.5": false, "08": false, "10.0.1.7": false, "abc": false} {
		if got := yamlCppTypes(s); got != want {
			t.Errorf("yamlCppTypes(%q) = %v", s, got)
		}
	}
}

func TestYAMLTrickyStrings(t *testing.T) {
	for _, s := range trickyStrings {
		checkYAML(t, map[string]any{"k": s, s + "key": []any{s, map[string]any{s: s}}, "n": []any{[]any{s, []any{}}, map[string]any{}}})
	}
}

func TestYAMLRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		m := map[string]any{}
		for range 1 + r.IntN(4) {
			m[tricky(r)] = randomJSON(r, 0)
		}
		checkYAML(t, m)
	}
}

func FuzzYAML(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip() // protojson never writes invalid UTF-8
		}
		checkYAML(t, map[string]any{"k": s, s: []any{s, map[string]any{s: []any{s}}}})
	})
}

// The rendered files read the same with our reader and with go-yaml.
func TestRenderedYAMLReadsTheSameWithGoYAML(t *testing.T) {
	ls, cs := scaleConfig(50)
	for _, f := range []*Files{
		mustRender(t, testNode(), testListeners(), testClusters()),
		mustRender(t, testNode(), ls, cs),
	} {
		for name, content := range f.Data {
			ours, err := yamlToJSON([]byte(content))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			theirs, err := yaml.YAMLToJSONStrict([]byte(content))
			if err != nil {
				t.Fatalf("%s: go-yaml: %v", name, err)
			}
			if !reflect.DeepEqual(canonJSON(t, ours), canonJSON(t, theirs)) {
				t.Errorf("%s reads differently with go-yaml", name)
			}
			var n yamlv3.Node
			if err := yamlv3.Unmarshal([]byte(content), &n); err != nil {
				t.Fatalf("%s: go-yaml v3: %v", name, err)
			}
			checkPlainTags(t, &n, []byte(content))
		}
	}
}

// The reader accepts only what the writer writes.
func TestYAMLReaderRejects(t *testing.T) {
	for _, y := range []string{
		"a: 1",                // no final newline
		"a: &x 1\n",           // anchor
		"a: !!str 1\n",        // tag
		"a: [1, 2]\n",         // flow sequence
		"a: {b: 1}\n",         // flow mapping
		"a: |\n  x\n",         // block scalar
		"a: 1 # c\n",          // comment
		"# c\na: 1\n",         // comment line
		"a: 'x'\n",            // single quotes
		"a: \"x\\x41\"\n",     // escape we never write
		"a: 1\na: 2\n",        // duplicate key
		"a:\n",                // null by omission
		"a:\n   b: 1\n",       // 3-space indent
		"a:\n\tb: 1\n",        // tab
		"a: yes\n",            // plain scalar we would quote
		"a: 0x1F\n",           // idem
		" a: 1\n",             // indented document
		"a: 1\n b: 2\n",       // stray indentation
		"- a\n",               // top-level sequence
		"a:\n- 1\n- 2\nb\n",   // scalar where a key belongs
		"\"a\" b: 1\n",        // text after quoted key
		"a: \"unterminated\n", // unterminated string
		"a:\n  - 1\n",         // sequence indented under its key (we never write it)
		"a: b: c\n",           // plain scalar with ": "
	} {
		if j, err := yamlToJSON([]byte(y)); err == nil {
			t.Errorf("yamlToJSON(%q) = %s, want an error", y, j)
		}
	}
}

func TestYAMLLongKey(t *testing.T) {
	k := strings.Repeat("k", 1025)
	if _, err := jsonToYAML([]byte(`{"` + k + `": 1}`)); err == nil || !strings.Contains(err.Error(), "at most 1024 characters in a key") {
		t.Fatalf("jsonToYAML: %v, want the key length error", err)
	}
	checkYAML(t, map[string]any{strings.Repeat("k", 1000): 1})
}

func TestYAMLEmptyDocument(t *testing.T) {
	y, err := jsonToYAML([]byte("{}"))
	if err != nil || string(y) != "{}\n" {
		t.Fatalf("jsonToYAML({}) = %q, %v", y, err)
	}
	j, err := yamlToJSON(y)
	if err != nil || !bytes.Equal(j, []byte("{}")) {
		t.Fatalf("yamlToJSON = %s, %v", j, err)
	}
	if _, err := jsonToYAML([]byte("[]")); err == nil {
		t.Fatal("jsonToYAML([]) accepted a non-object")
	}
}

// TestDiscoveryDocRoundTrip: a DiscoveryResponse file, written without go-control-plane's
// DiscoveryResponse type, reads back as its resources, and its reader refuses what Envoy's
// loader would not read as this document: another field, a resource of another type, a
// resource field protojson does not know, a missing version.
func TestDiscoveryDocRoundTrip(t *testing.T) {
	typeURL := TypeURL(WorkloadCertSecret())
	doc, err := discoveryDoc(typeURL, []proto.Message{WorkloadCertSecret(), RootCASecret()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDoc(string(doc), typeURL)
	if err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	if len(got) != 2 || !proto.Equal(got[0], WorkloadCertSecret()) || !proto.Equal(got[1], RootCASecret()) {
		t.Errorf("decoded %v, want the two secrets", got)
	}
	empty, err := discoveryDoc(typeURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(empty), "resources") {
		t.Errorf("empty document lists resources:\n%s", empty)
	}
	if got, err := decodeDoc(string(empty), typeURL); err != nil || len(got) != 0 {
		t.Errorf("empty document: %v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"unknown field":      string(doc) + "nonce: \"1\"\n",
		"JSON-cased field":   strings.Replace(string(doc), "type_url: ", "typeUrl: ", 1),
		"no version":         strings.Split(string(doc), "version_info:")[0],
		"other type":         strings.Replace(string(doc), "type_url: type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret\n", "type_url: type.googleapis.com/envoy.config.cluster.v3.Cluster\n", 1),
		"unknown in payload": strings.Replace(string(doc), "name: ", "nome: ", 1),
	} {
		if bad == string(doc) {
			t.Fatalf("%s: the edit changed nothing in\n%s", name, doc)
		}
		if _, err := decodeDoc(bad, typeURL); err == nil {
			t.Errorf("%s: accepted\n%s", name, bad)
		}
	}
}
