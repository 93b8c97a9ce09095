//go:build !amd64 || purego

package eval

// avx512Kernels is unavailable: inference uses goKernels.
var avx512Kernels kernels

func hasAVX512() bool { return false }
