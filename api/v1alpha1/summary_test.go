package v1alpha1

import "testing"

func TestSummaries(t *testing.T) {
	dr := DestinationRuleSpec{Host: "reviews", Subsets: []Subset{{Name: "v1"}, {Name: "v2"}}}
	if got := dr.SubsetsSummary(); got != "v1,v2" {
		t.Errorf("SubsetsSummary = %q", got)
	}
	gw := GatewaySpec{Servers: []Server{
		{Port: Port{Number: 80, Protocol: "http", Name: "http"}},
		{Port: Port{Number: 443, Protocol: "HTTPS", Name: "https"}},
		{Port: Port{Number: 0, Protocol: "HTTP", Name: "uds"}, Bind: "unix:///run/gw.sock"},
	}}
	if got := gw.ServersSummary(); got != "HTTP/80,HTTPS/443,HTTP/unix:///run/gw.sock" {
		t.Errorf("ServersSummary = %q", got)
	}
	w := map[string]int32{
		WeightKey(Destination{Host: "reviews", Subset: "v2"}): 10,
		WeightKey(Destination{Host: "reviews", Subset: "v1"}): 90,
		WeightKey(Destination{Host: "ratings"}):               100,
	}
	if got := WeightsSummary(w); got != "ratings=100 reviews:v1=90 reviews:v2=10" {
		t.Errorf("WeightsSummary = %q", got)
	}
	if got := (ProxyCounts{Total: 12, Updated: 7}).UpdatedSummary(); got != "7/12" {
		t.Errorf("UpdatedSummary = %q", got)
	}
}

func TestDurationParse(t *testing.T) {
	for in, ok := range map[Duration]bool{"5s": true, "0.5s": true, "100ms": true, "1h30m": true, "5": false} {
		if _, err := in.Parse(); (err == nil) != ok {
			t.Errorf("Duration(%q).Parse() error = %v", in, err)
		}
	}
	if d, err := DurationOrZero("0s").Parse(); err != nil || d != 0 {
		t.Errorf("DurationOrZero(0s).Parse() = %v, %v", d, err)
	}
}
