package lazylog

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// countingSink counts the WithValues calls that reach the wrapped sink.
type countingSink struct {
	logr.LogSink
	withValues *int
}

// Init does nothing: the funcr sink was initialised by funcr.New.
func (c countingSink) Init(logr.RuntimeInfo) {}

func (c countingSink) WithValues(kv ...any) logr.LogSink {
	*c.withValues++
	return countingSink{LogSink: c.LogSink.WithValues(kv...), withValues: c.withValues}
}

func (c countingSink) WithName(name string) logr.LogSink {
	return countingSink{LogSink: c.LogSink.WithName(name), withValues: c.withValues}
}

func (c countingSink) WithCallDepth(depth int) logr.LogSink {
	return countingSink{LogSink: c.LogSink.(logr.CallDepthLogSink).WithCallDepth(depth), withValues: c.withValues}
}

func newLogger(lines *[]string, withValues *int) logr.Logger {
	base := funcr.New(func(prefix, args string) { *lines = append(*lines, prefix+" "+args) },
		funcr.Options{LogCaller: funcr.All, Verbosity: 1})
	return logr.New(countingSink{LogSink: base.GetSink(), withValues: withValues})
}

// Values reach the wrapped sink only when a line is written, with every value in order, the
// names, and the caller of the line.
func TestValuesWaitForALine(t *testing.T) {
	var lines []string
	var withValues int
	log := New(newLogger(&lines, &withValues)).WithName("proxy").WithValues("pod", "shop/web-1").WithValues("reconcileID", "r1")
	if withValues != 0 {
		t.Fatalf("the wrapped sink got %d WithValues calls before any line", withValues)
	}
	log.V(2).Info("not written") // above the verbosity: nothing is encoded
	if withValues != 0 || len(lines) != 0 {
		t.Fatalf("a disabled line reached the sink: %d WithValues calls, %d lines", withValues, len(lines))
	}
	log.Info("assigned a proxy id", "proxyID", "p1")
	log.Error(errors.New("boom"), "write failed")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), lines)
	}
	if !strings.HasPrefix(lines[0], "proxy ") {
		t.Errorf("line %q is not named proxy", lines[0])
	}
	for _, want := range []string{`"caller"={"file"="lazylog_test.go"`,
		`"pod"="shop/web-1" "reconcileID"="r1" "proxyID"="p1"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line %q lacks %s", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], `"pod"="shop/web-1" "reconcileID"="r1"`) || !strings.Contains(lines[1], `"error"="boom"`) {
		t.Errorf("error line %q lacks its values", lines[1])
	}
}

// A logger made from another keeps its own values: appending to one does not show in the other.
func TestValuesAreNotShared(t *testing.T) {
	var lines []string
	var withValues int
	parent := New(newLogger(&lines, &withValues)).WithValues("a", 1)
	left, right := parent.WithValues("b", 2), parent.WithValues("c", 3)
	left.Info("left")
	right.Info("right")
	if strings.Contains(lines[0], `"c"`) || strings.Contains(lines[1], `"b"`) || !strings.Contains(lines[1], `"a"=1 "c"=3`) {
		t.Errorf("values crossed between loggers: %q", lines)
	}
}
