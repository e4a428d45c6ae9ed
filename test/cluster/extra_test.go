package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartProcess runs a program beside a (component-less) cluster: it is tracked like a
// component — PID file, log, peak RSS, CheckAlive — and Stop ends it.
func TestStartProcess(t *testing.T) {
	dirs, err := prepareStateDir(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{opts: Options{StopTimeout: 5 * time.Second}, dirs: dirs}
	sleep, err := os.Executable() // this test binary, running TestHelperSleep
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.StartProcess("sleeper", sleep, []string{"-test.run=^TestHelperSleep$"}, []string{"MIZZEN_HELPER_SLEEP=1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PIDs()["sleeper"]; got != pid {
		t.Errorf("PIDs()[sleeper] = %d, want %d", got, pid)
	}
	if rss, err := c.PeakRSS("sleeper"); err != nil || rss <= 0 {
		t.Errorf("PeakRSS = %d, %v; want > 0", rss, err)
	}
	if err := c.CheckAlive(); err != nil {
		t.Errorf("CheckAlive: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dirs.run, "sleeper.pid")); err != nil {
		t.Errorf("no PID file: %v", err)
	}
	if _, err := c.StartProcess("sleeper", sleep, nil, nil); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Errorf("second sleeper: %v, want an error saying it already runs", err)
	}
	if _, err := c.StartProcess("../x", sleep, nil, nil); err == nil {
		t.Error("a name with a path was accepted")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists after Stop: %v", pid, err)
	}
	if _, err := c.StartProcess("late", sleep, nil, nil); err == nil {
		t.Error("StartProcess after Stop succeeded")
	}
}

// TestHelperSleep is the program TestStartProcess runs: it blocks until killed.
func TestHelperSleep(t *testing.T) {
	if os.Getenv("MIZZEN_HELPER_SLEEP") == "" {
		t.Skip("helper process of TestStartProcess")
	}
	time.Sleep(time.Hour)
}
