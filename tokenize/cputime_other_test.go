//go:build !unix

package tokenize

// cpuSeconds is 0 where getrusage is missing; CPU-time metrics are then left out.
func cpuSeconds() float64 { return 0 }
