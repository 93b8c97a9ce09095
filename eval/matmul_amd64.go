//go:build amd64 && !purego

package eval

// Implemented in matmul_amd64.s.

func cpuid(leaf, sub uint32) (a, b, c, d uint32)
func xgetbv0() (a, d uint32)

//go:noescape
func sgemm12x32(k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, add int, rows int, mask int)

//go:noescape
func sgemm1x32(k int, a, b, c *float32, bias *float32, add int, mask int)

//go:noescape
func sgemm1x64(k int, a, b, c *float32, bstride int, bias *float32, add int)

//go:noescape
func sgemm1x128(k int, a, b, c *float32, bstride int, bias *float32, add int)

//go:noescape
func softmaxRowAVX512(s *float32, n int, scale float32)

//go:noescape
func geluAVX512(dst, src *float32, n int)

//go:noescape
func layerNormAVX512(dst, x, w, b *float32, n int)

// avx512Kernels are the assembly kernels. The wrappers check every bound the
// assembly relies on, so a bad call panics in Go instead of corrupting memory.
var avx512Kernels = kernels{
	name: "avx512",
	tile: func(k int, a []float32, lda int, b, c []float32, ldc int, bias []float32, add bool, rows, cols int) {
		_, _ = a[(mr-1)*lda+k-1], b[k*nr-1]
		_, _ = c[(rows-1)*ldc+cols-1], bias[nr-1]
		if rows > mr || cols > nr {
			panic("eval: tile larger than the kernel")
		}
		if lda < k {
			panic("eval: overlapping rows")
		}
		sgemm12x32(k, &a[0], lda, &b[0], &c[0], ldc, &bias[0], b2i(add), rows, 1<<cols-1)
	},
	row: func(k int, a, b, c []float32, bias []float32, add bool, cols int) {
		_, _, _, _ = a[k-1], b[k*nr-1], c[cols-1], bias[nr-1]
		if cols > nr {
			panic("eval: tile larger than the kernel")
		}
		sgemm1x32(k, &a[0], &b[0], &c[0], &bias[0], b2i(add), 1<<cols-1)
	},
	row2: func(k int, a, b, c []float32, bstride int, bias []float32, add bool) {
		_, _, _, _ = a[k-1], b[bstride+k*nr-1], c[2*nr-1], bias[2*nr-1]
		if bstride < k*nr {
			panic("eval: overlapping panels")
		}
		sgemm1x64(k, &a[0], &b[0], &c[0], bstride, &bias[0], b2i(add))
	},
	row4: func(k int, a, b, c []float32, bstride int, bias []float32, add bool) {
		_, _, _, _ = a[k-1], b[3*bstride+k*nr-1], c[4*nr-1], bias[4*nr-1]
		if bstride < k*nr {
			panic("eval: overlapping panels")
		}
		sgemm1x128(k, &a[0], &b[0], &c[0], bstride, &bias[0], b2i(add))
	},
	softmax: func(s []float32, scale float32) {
		if len(s) > 0 {
			softmaxRowAVX512(&s[0], len(s), scale)
		}
	},
	gelu: func(dst, src []float32) {
		if len(src) > 0 {
			_ = dst[len(src)-1]
			geluAVX512(&dst[0], &src[0], len(src))
		}
	},
	layerNorm: func(dst, x, w, b []float32) {
		if n := len(x); n > 0 {
			_, _, _ = dst[n-1], w[n-1], b[n-1]
			layerNormAVX512(&dst[0], &x[0], &w[0], &b[0], n)
		}
	},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hasAVX512 reports whether the CPU has AVX-512F and the OS saves the ZMM
// and mask registers on context switches.
func hasAVX512() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave = 1 << 27
	if ecx1&osxsave == 0 {
		return false
	}
	xcr0, _ := xgetbv0()
	const sse, avx, opmask, zmmHi256, hi16Zmm = 1 << 1, 1 << 2, 1 << 5, 1 << 6, 1 << 7
	const want = sse | avx | opmask | zmmHi256 | hi16Zmm
	if xcr0&want != want {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx512f = 1 << 16
	return ebx7&avx512f != 0
}

func init() {
	if hasAVX512() {
		active = avx512Kernels
	}
}
