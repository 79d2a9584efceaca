package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuClock reads the CPU time spent so far by this process and by the
// machine's PostgreSQL server. Throughput on a shared machine swings by a
// quarter from run to run; the CPU a text costs moves far less, so
// `parley bench` and the dispatch benchmark report both.
type cpuClock struct{ self, postgres time.Duration }

func readCPU() cpuClock {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpuClock{self: self, postgres: postgresCPU()}
}

// postgresCPU sums utime and stime of every live postgres process plus
// what the postmaster reaped from its exited children (cutime, cstime),
// so backends that end during a run still count. Zero where /proc is not
// readable or the server is not on this machine.
func postgresCPU() time.Duration {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(s[end+1:])
		// Fields after the command, from state (field 3): utime is field 14.
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// perText is the CPU each of n texts (or requests) cost since c, in
// milliseconds.
func (c cpuClock) perText(n int) (self, postgres float64) {
	return readCPU().since(c).per(n)
}

// since is the CPU spent between the earlier reading and c.
func (c cpuClock) since(earlier cpuClock) cpuClock {
	return cpuClock{self: c.self - earlier.self, postgres: c.postgres - earlier.postgres}
}

// per divides CPU spent among n texts (or requests), in milliseconds.
func (c cpuClock) per(n int) (self, postgres float64) {
	return float64(c.self) / float64(time.Millisecond) / float64(n),
		float64(c.postgres) / float64(time.Millisecond) / float64(n)
}
