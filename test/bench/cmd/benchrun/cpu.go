package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// sysBusy returns the machine's busy CPU time from /proc/stat's "cpu" line:
// user, nice, system and steal (time taken by other guests). irq and softirq
// are left out: on loopback most of that is the benchmark's own packets,
// and no process is charged for it, so it would look like someone else's.
func sysBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
	for i, v := range f[1:9] {
		if i >= 3 && i <= 6 { // idle iowait irq softirq
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return ticks(busy), nil
}

// procCPU returns utime+stime of pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted from the last ')'. utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return ticks(ut + st), nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// cpuWatch measures, over a window, how much CPU the machine spent outside
// the processes of the benchmark: other work on a shared machine skews a run.
type cpuWatch struct {
	pids  []int
	start time.Time
	busy  time.Duration
	procs time.Duration
	ok    bool
}

// startCPUWatch starts a window over the machine minus pids and the
// kernel's ksoftirqd threads, which carry the benchmark's own packets when
// the softirq load is high.
func startCPUWatch(pids ...int) *cpuWatch {
	w := &cpuWatch{pids: append(pids, ksoftirqd()...), start: time.Now()}
	var err error
	if w.busy, err = sysBusy(); err != nil {
		return w
	}
	if w.procs, err = sumProcCPU(pids); err != nil {
		return w
	}
	w.ok = true
	return w
}

func sumProcCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		c, err := procCPU(p)
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum, nil
}

// othersPct returns the CPU used by processes other than the watched ones
// and extra (the CPU time of children that ran inside the window, such as
// wrk), as a percentage of all CPUs over the window; -1 if unknown.
func (w *cpuWatch) othersPct(extra time.Duration) float64 {
	if !w.ok {
		return -1
	}
	wall := time.Since(w.start)
	busy, err1 := sysBusy()
	procs, err2 := sumProcCPU(w.pids)
	if err1 != nil || err2 != nil || wall <= 0 {
		return -1
	}
	others := (busy - w.busy) - (procs - w.procs) - extra
	return max(0, 100*float64(others)/(float64(wall)*float64(runtime.NumCPU())))
}

// ksoftirqd returns the PIDs of the kernel's ksoftirqd/N threads.
func ksoftirqd() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.HasPrefix(string(comm), "ksoftirqd/") {
			pids = append(pids, pid)
		}
	}
	return pids
}
