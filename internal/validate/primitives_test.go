package validate

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func TestCheckWildcardDomain(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"reviews", true},
		{"reviews.prod.svc.cluster.local", true},
		{"istio.io.", true},
		{"*.example.com", true},
		{"*", true},
		{"*foo.example.com", true}, // Istio accepts a wildcard-prefixed leftmost label
		{"*-foo.example.com", true},
		{"UPPER.Example.com", true}, // Istio allows upper case
		{"", false},
		{strings.Repeat("a.", 128) + "com", false},
		{"foo.*.com", false},
		{"f*o.com", false},
		{"**.com", false},
		{"foo..com", false},
		{"foo.com..", false},
		{"-foo.com", false},
		{"foo.123", false},
		{"10.0.0.1", false},
		{"foo_bar.com", false},
		{strings.Repeat("a", 64) + ".com", false},
	} {
		err := checkWildcardDomain(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("checkWildcardDomain(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckGatewayBoundDomain(t *testing.T) {
	for _, tc := range []struct {
		sni bool
		in  string
		ok  bool
	}{
		{true, "outbound_.80_._.e2e.foobar.mesh", true},
		{true, "outbound_.x_._.e2e.foobar.mesh", false},
		{true, "outbound_.80_._.123", false},
		{true, "outbound_.80", false},
		{false, "outbound_.80_._.e2e.foobar.mesh", false},
		{false, "*.example.com", true},
	} {
		err := checkGatewayBoundDomain(tc.sni, tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("checkGatewayBoundDomain(%v, %q) = %v, want ok=%v", tc.sni, tc.in, err, tc.ok)
		}
	}
}

func TestCheckGatewayServerHost(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"*", true},
		{"*.example.com", true},
		{"uk.bookinfo.com", true},
		{"prod/*.example.com", true},
		{"./foo.example.com", true},
		{"*/foo.example.com", true},
		{"10.1.2.3", true},
		{"ns/10.1.2.3", true},
		{"*.local", true},
		{"foo", false},         // short name
		{"ns/foo", false},      // short name
		{"/foo.com", false},    // empty namespace
		{"ns/", false},         // empty name
		{"n_s/foo.com", false}, // bad namespace
		{"~/foo.com", false},   // "~" only for Gateway API semantics
		{"*foo.example.com", false},
		{"foo.*.com", false},
		{"ISTIOD-HOST.DOMAIN", true},
	} {
		err := checkGatewayServerHost(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("checkGatewayServerHost(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckGatewayName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"mesh", true},
		{"bookinfo-gateway", true},
		{"istio-system/ingressgateway", true},
		{"gateway.istio-system", true}, // legacy form, Istio only warns
		{"ns/", false},
		{"/gw", false},
		{"n_s/gw", false},
		{"ns/g.w", false},
		{"bad_name", false},
		{"", false},
	} {
		err := checkGatewayName(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("checkGatewayName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckLabels(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"app", "reviews", true},
		{"version", "v1", true},
		{"app.kubernetes.io/name", "a_b.c-d", true},
		{"topology.istio.io/network", "", true},
		{"", "x", false},
		{"-app", "x", false},
		{"app", "-x", false},
		{"app", "a b", false},
		{"/app", "x", false},
		{"bad_prefix/app", "x", false},
		{strings.Repeat("a", 64), "x", false},
		{"app", strings.Repeat("a", 100), true}, // Istio sets no value length limit
	} {
		err := checkLabelKey(tc.key)
		if err == nil {
			err = checkLabelValue(tc.value)
		}
		if (err == nil) != tc.ok {
			t.Errorf("label %q=%q: %v, want ok=%v", tc.key, tc.value, err, tc.ok)
		}
	}
}

func TestCheckSubnetAndBind(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"10.0.0.1", true}, {"10.0.0.0/8", true}, {"2001:db8::/32", true}, {"::1", true},
		{"10.0.0.0/33", false}, {"10.0.0/8", false}, {"a/b/c", false}, {"host", false},
	} {
		if err := checkSubnet(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkSubnet(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		bind string
		ok   bool
	}{
		{"0.0.0.0", true}, {"::", true}, {"unix:///var/run/gw.sock", true}, {"unix://@abstract", true},
		{"localhost", false}, {"unix://", false}, {"unix://rel/path", false}, {"unix:///var/run/", false},
	} {
		if err := checkBind(tc.bind); (err == nil) != tc.ok {
			t.Errorf("checkBind(%q) = %v, want ok=%v", tc.bind, err, tc.ok)
		}
	}
}

func TestHeaderNames(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"end-user", true}, {"x_custom", true}, {":authority", true}, {":path", true},
		{"@request.auth.claims.groups", true}, {"@request.auth.claims[nested][key]", true},
		{"@REQUEST.auth.claims.x", true},
		{"", false}, {"a b", false}, {":foo", false}, {"@request.auth.claims", false},
		{"@request.auth.claims[]", false}, {"x:y", false},
	} {
		if err := checkMatchHeaderName(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkMatchHeaderName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"*", true}, {"X-Foo", true}, {"", false}, {"a b", false}, {":path", false},
	} {
		if err := checkCORSHeaderName(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkCORSHeaderName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		in     string
		op     headerOp
		reason string
	}{
		{"x-foo", requestSetOrAdd, ""},
		{":authority", requestSetOrAdd, ""},
		{"Host", requestSetOrAdd, ""},
		{":path", requestSetOrAdd, ReasonForbiddenHeader},
		{":authority", otherHeaderOp, ReasonForbiddenHeader},
		{"HOST", otherHeaderOp, ReasonForbiddenHeader},
		{"", otherHeaderOp, ReasonInvalidHeaderName},
		{"x\nfoo", requestSetOrAdd, ReasonInvalidHeaderName},
	} {
		reason, err := checkHeaderOperationName(tc.in, tc.op)
		if reason != tc.reason || (err == nil) != (tc.reason == "") {
			t.Errorf("checkHeaderOperationName(%q, %d) = %q, %v; want %q", tc.in, tc.op, reason, err, tc.reason)
		}
	}
}

func TestCheckHeaderValue(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true},
		{"foo", true},
		{"tab\there", true},
		{"%HOSTNAME%", true},
		{"100%%", true},
		{"prefix %HOSTNAME% suffix", true},
		{"%DOWNSTREAM_PEER_URI_SAN%", true},
		{`%UPSTREAM_METADATA(["a", "b"])%`, true},
		{`%UPSTREAM_METADATA( [ "a" , "b" ] )%`, true},
		{`%REQ(x-foo)%`, true},
		{`%START_TIME(%s.%3f)%`, true},
		{`%PER_REQUEST_STATE(a\)b)%`, true},
		{"abc%123", false},
		{"%START_TIME%%", false},
		{"100%", false},
		{"%FOO(", false},
		{`%FOO(["a" x])%`, false},
		{`%FOO([a])%`, false},
		{`%FOO(["a"] x)%`, false},
		{`%FOO(a) x%`, false},
		{`%FOO(a\`, false},
		{"new\nline", false},
		{"del\x7f", false},
	} {
		if err := checkHeaderValue(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkHeaderValue(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCheckRegex(t *testing.T) {
	for _, tc := range []struct {
		in     string
		reason string
	}{
		{"^/api/v[0-9]+/.*$", ""},
		{"", ""},
		{"(?i)foo", ""},
		{"a(b", ReasonInvalidRegex},
		{"(?<=a)b", ReasonInvalidRegex}, // look-behind is not RE2
		{`\1`, ReasonInvalidRegex},      // back-references are not RE2
		{strings.Repeat("a", 1024), ""},
		{strings.Repeat("a", 1025), ReasonRegexTooLong},
	} {
		reason, err := checkRegex(tc.in)
		if reason != tc.reason || (err == nil) != (tc.reason == "") {
			t.Errorf("checkRegex(%.20q) = %q, %v; want %q", tc.in, reason, err, tc.reason)
		}
	}
}

func TestBadRetryOn(t *testing.T) {
	for _, tc := range []struct {
		in  string
		bad []string
	}{
		{"5xx", nil},
		{"gateway-error,connect-failure,refused-stream", nil},
		{"retriable-status-codes,503,429", nil},
		{"cancelled,deadline-exceeded,internal,resource-exhausted,unavailable", nil},
		{"reset-before-request,http3-post-connect-failure,envoy-ratelimited,retriable-headers,retriable-4xx,reset", nil},
		{"5xx,bogus", []string{"bogus"}},
		{"5xx, reset", []string{" reset"}},
		{"599", []string{"599"}},
		{"5xx,", []string{""}},
	} {
		got := badRetryOn(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.bad, "|") {
			t.Errorf("badRetryOn(%q) = %q, want %q", tc.in, got, tc.bad)
		}
	}
}

func TestIsPrime(t *testing.T) {
	primes := []uint64{1, 2, 3, 5, 7, 65537, 5000011}
	composites := []uint64{0, 4, 9, 15, 25, 65536, 1000000, 1000001}
	for _, n := range primes {
		if !isPrime(n) {
			t.Errorf("isPrime(%d) = false", n)
		}
	}
	for _, n := range composites {
		if isPrime(n) {
			t.Errorf("isPrime(%d) = true", n)
		}
	}
}

func TestCheckLocalities(t *testing.T) {
	for _, tc := range []struct {
		in  []string
		bad int
	}{
		{[]string{"us-east/zone1/sub1", "us-east/zone1/sub2", "us-east/zone2", "us-west"}, -1},
		{[]string{"us-east/zone1", "us-east/*"}, -1}, // a later wildcard does not look back (as in Istio)
		{[]string{"*"}, -1},
		{[]string{"*", "us-east"}, 1},
		{[]string{"us-east", "us-east/zone1"}, 1},
		{[]string{"us-east/zone1", "us-east"}, 1},
		{[]string{"us-east/*", "us-east/zone1"}, 1},
		{[]string{"us-east/zone1", "us-east/zone1/sub1"}, 1},
		{[]string{"us-east/zone1/*", "us-east/zone1/sub1"}, 1},
		{[]string{"us-east/zone1/sub1", "us-east/zone1/sub1"}, 1},
		{[]string{"us-east//sub"}, 0},
		{[]string{"us-*/zone"}, 0},
		{[]string{"us/*/*"}, 0},
	} {
		if got, err := checkLocalities(tc.in); got != tc.bad {
			t.Errorf("checkLocalities(%q) = %d (%v), want %d", tc.in, got, err, tc.bad)
		}
	}
}

func TestCheckExportTo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       []string
		selector bool
		want     []Problem
	}{
		{name: "fine", in: []string{".", "other"}},
		{name: "public", in: []string{"*"}},
		{name: "duplicate", in: []string{"a", "a"},
			want: []Problem{{Field: "spec.exportTo[1]", Reason: ReasonDuplicateExportTo}}},
		{name: "dot and own namespace", in: []string{".", "ns"},
			want: []Problem{{Field: "spec.exportTo[1]", Reason: ReasonDuplicateExportTo}}},
		{name: "none", in: []string{"~"},
			want: []Problem{{Field: "spec.exportTo[0]", Reason: ReasonInvalidExportTo}}},
		{name: "bad name", in: []string{"Not_A_Namespace"},
			want: []Problem{{Field: "spec.exportTo[0]", Reason: ReasonInvalidExportTo}}},
		{name: "public mixed", in: []string{"*", "a"},
			want: []Problem{{Field: "spec.exportTo", Reason: ReasonExportToPublicMixed}}},
		{name: "selector own", in: []string{"."}, selector: true},
		{name: "selector beyond", in: []string{"other"}, selector: true,
			want: []Problem{{Field: "spec.exportTo", Reason: ReasonExportToWithSelector}}},
		{name: "selector multiple", in: []string{".", "other"}, selector: true,
			want: []Problem{{Field: "spec.exportTo", Reason: ReasonExportToWithSelector}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps problems
			checkExportTo(&ps, field.NewPath("spec", "exportTo"), "ns", tc.in, tc.selector)
			assertProblems(t, ps.errs, tc.want)
		})
	}
}

// assertProblems compares Field and Reason (not Message) in order, and that every Message is set.
func assertProblems(t *testing.T, got []Problem, want []Problem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i].Field != want[i].Field || got[i].Reason != want[i].Reason {
			t.Errorf("problem %d = %s %s, want %s %s", i, got[i].Field, got[i].Reason, want[i].Field, want[i].Reason)
		}
		if got[i].Message == "" {
			t.Errorf("problem %d (%s) has no message", i, got[i].Field)
		}
	}
}

func TestJoin(t *testing.T) {
	ps := []Problem{
		{Field: "spec.hosts[0]", Reason: ReasonInvalidHost, Message: "bad"},
		{Field: "spec.exportTo", Reason: ReasonExportToPublicMixed, Message: "mixed"},
	}
	if got, want := Join(ps), "spec.hosts[0]: bad (InvalidHost); spec.exportTo: mixed (ExportToPublicMixed)"; got != want {
		t.Errorf("Join = %q, want %q", got, want)
	}
	if got := Join(nil); got != "" {
		t.Errorf("Join(nil) = %q", got)
	}
}

func TestNilAndEmpty(t *testing.T) {
	if VirtualService(nil) != nil || DestinationRule(nil) != nil || Gateway(nil) != nil || Delegation(nil, 0, nil) != nil {
		t.Error("nil objects must yield no problems")
	}
	// Empty objects are the schema's business (required fields); they must not panic here.
	_ = VirtualService(&v1alpha1.VirtualService{})
	_ = DestinationRule(&v1alpha1.DestinationRule{})
	_ = Gateway(&v1alpha1.Gateway{})
}
