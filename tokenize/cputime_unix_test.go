//go:build unix

package tokenize

import "syscall"

// cpuSeconds is this process's CPU time so far (user + system, all
// threads): benchmarks divide work by it to give rates per CPU-second, which
// other load on a shared machine does not distort as it does wall-clock time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
