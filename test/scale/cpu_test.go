package scale

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is the CPU time (user + system, every thread) each process of the run has used so far.
// On a machine whose cores are shared by the control plane, the manager and whatever else runs,
// CPU spent per write is the steadier measure of cost: write rates also follow the other load.
type cpuTimes map[string]time.Duration

// userHZ is the unit of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux architecture Go
// supports here.
const userHZ = 100

// readCPU reads each process's CPU time from /proc/<pid>/stat.
func readCPU(pids map[string]int) (cpuTimes, error) {
	out := cpuTimes{}
	for name, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil, fmt.Errorf("CPU time of %s: %w", name, err)
		}
		// Fields after the command (in parentheses, which may hold spaces): state is the 3rd
		// field of the line, utime the 14th and stime the 15th.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			return nil, fmt.Errorf("CPU time of %s: short /proc/%d/stat", name, pid)
		}
		var ticks int64
		for _, v := range f[11:13] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("CPU time of %s: %w", name, err)
			}
			ticks += n
		}
		out[name] = time.Duration(ticks) * time.Second / userHZ
	}
	return out, nil
}

func (t cpuTimes) minus(before cpuTimes) cpuTimes {
	out := cpuTimes{}
	for name, d := range t {
		out[name] = d - before[name]
	}
	return out
}

func (t cpuTimes) total() time.Duration {
	var sum time.Duration
	for _, d := range t {
		sum += d
	}
	return sum
}

// per describes the CPU time per operation, largest share first.
func (t cpuTimes) per(ops int) string {
	if ops == 0 {
		return "no operations"
	}
	names := make([]string, 0, len(t))
	for name := range t {
		if t[name] > 0 {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return int(t[b] - t[a]) })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(ops) }
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %.2f", name, ms(t[name]))
	}
	return fmt.Sprintf("%.2f ms (%s)", ms(t.total()), strings.Join(parts, ", "))
}
