package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one control-plane binary started by the cluster, in its own process group, with its
// output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	pidPath string
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, valid once done is closed
	logFile *os.File
}

// startRequest asks the spawner goroutine to start a command.
type startRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan startRequest
)

// spawn starts cmd from a goroutine locked to its own OS thread for the life of the process.
//
// Pdeathsig is delivered when the *thread* that forked the child exits, not the process. The Go
// runtime may end a thread (for example when a goroutine that called runtime.LockOSThread returns
// without unlocking), which would kill a child early; a thread that is never released lives exactly
// as long as the test binary, so the children die with it and never earlier.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan startRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives until the process exits
			for req := range spawnCh {
				req.reply <- req.cmd.Start()
			}
		}()
	})
	reply := make(chan error, 1)
	spawnCh <- startRequest{cmd: cmd, reply: reply}
	return <-reply
}

// startProcess runs binary with args, env added to the current environment, output appended to
// <logDir>/<name>.log and the PID written to <runDir>/<name>.pid.
func startProcess(name, binary string, args, env []string, logDir, runDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	fmt.Fprintf(logFile, "# %s %s\n", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // own process group: a terminal's Ctrl-C reaches only us; we stop it in order
		Pdeathsig: syscall.SIGKILL, // and it never outlives the binary that started it
	}
	if err := spawn(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, binary, err)
	}
	p := &process{
		name:    name,
		cmd:     cmd,
		logPath: logPath,
		pidPath: filepath.Join(runDir, name+".pid"),
		done:    make(chan struct{}),
		logFile: logFile,
	}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	if err := os.WriteFile(p.pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		_ = p.stop(time.Second)
		return nil, fmt.Errorf("writing %s: %w", p.pidPath, err)
	}
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// exitError describes an unexpected exit with the end of the process's log.
func (p *process) exitError() error {
	return fmt.Errorf("%s (pid %d) exited: %v; last lines of %s:\n%s", p.name, p.pid(), p.err, p.logPath, tail(p.logPath, 30))
}

// stop sends SIGTERM to the process group, waits up to timeout, then sends SIGKILL to the group and
// waits for the exit. It returns an error only when the process could not be ended.
func (p *process) stop(timeout time.Duration) error {
	defer os.Remove(p.pidPath)
	pgid := p.pid() // Setpgid: the group id is the leader's pid
	if done, _ := p.exited(); done {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything it left behind in its group
		return nil
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGTERM to %s (pgid %d): %w", p.name, pgid, err)
	}
	select {
	case <-p.done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil
	case <-time.After(timeout):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGKILL to %s (pgid %d): %w", p.name, pgid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running 10s after SIGKILL", p.name, p.pid())
	}
}

// memory reads the process's resident memory (Cluster.Memory).
func (p *process) memory() (Memory, error) {
	pid := p.pid()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("reading the status of pid %d: %w", pid, err)
	}
	var m Memory
	fields := map[string]*int64{"VmHWM:": &m.Peak, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, rest, _ := strings.Cut(line, "\t")
		into := fields[name]
		if into == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parsing %q of pid %d: %w", line, pid, err)
		}
		*into = kb * 1024
		delete(fields, name)
	}
	if len(fields) > 0 {
		return Memory{}, fmt.Errorf("the status of pid %d lacks %v", pid, slices.Collect(maps.Keys(fields)))
	}
	return m, nil
}

// tail returns the last n lines of a file (for error messages).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// alivePIDs reads the *.pid files in runDir and returns those whose process still runs with a
// command line naming root (so a reused PID is not mistaken for ours).
func alivePIDs(runDir, root string) map[string]int {
	alive := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(runDir, "*.pid"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, []byte(root)) {
			alive[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return alive
}
