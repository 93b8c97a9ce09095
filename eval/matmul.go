package eval

import (
	"math"
	"sync"
	"sync/atomic"
)

// The matrix products of inference run through one micro-kernel: a tile of
// up to mr rows by nr outputs, each output one float32 sum of products in
// index order, then plus the bias, then plus the value already there when
// the product is added into the residual stream. Weights are packed once at
// load into panels of nr outputs ([k][nr] each, see packLinear), so that the
// kernel reads them sequentially; it reads the input rows where they are.
//
// Which kernels run (AVX-512 assembly in matmul_amd64.s on amd64 CPUs that
// have it, the Go loops below elsewhere and under the purego build tag) is
// fixed at start-up, and every output is the
// same sequence of operations whatever the tile it falls in, the number of
// rows or the split over goroutines: a Session (one row at a time) and a
// whole sequence agree bit for bit, on any number of cores.
const (
	mr = 12 // rows per tile
	nr = 32 // outputs per panel
)

// kernels is the set of routines behind inference; goKernels is the portable
// one, and matmul_amd64.go may install a faster set at start-up.
type kernels struct {
	name string
	// tile computes rows (1..mr) rows by cols (1..nr) outputs of one panel:
	// c[r*ldc+j] = (sum_k a[r*lda+k]*b[k*nr+j] + bias[j]) (+ c[r*ldc+j] if
	// add). a must hold mr rows (see tileRows); those past rows are read and
	// their results dropped.
	tile func(k int, a []float32, lda int, b, c []float32, ldc int, bias []float32, add bool, rows, cols int)
	// row is tile for one row stored contiguously in a (a[k]).
	row func(k int, a, b, c []float32, bias []float32, add bool, cols int)
	// row2 is row over two full panels, b's second panel bstride floats after
	// its first; c and bias cover 2*nr outputs.
	row2 func(k int, a, b, c []float32, bstride int, bias []float32, add bool)
	// row4 is row2 over four full panels, bstride floats apart.
	row4 func(k int, a, b, c []float32, bstride int, bias []float32, add bool)
	// softmax replaces s by softmax(scale*s).
	softmax func(s []float32, scale float32)
	// gelu writes the exact (erf) GELU of src to dst.
	gelu func(dst, src []float32)
	// layerNorm writes LayerNorm(x) with eps 1e-5 (biased variance, as
	// torch) and weight w and bias b to dst.
	layerNorm func(dst, x, w, b []float32)
}

var goKernels = kernels{
	name:      "go",
	tile:      tileGo,
	row:       rowGo,
	row2:      row2Go,
	row4:      row4Go,
	softmax:   softmaxGo,
	gelu:      geluGo,
	layerNorm: layerNormGo,
}

// active is the kernel set in use; tests swap it to compare implementations.
var active = goKernels

// zeroBias stands in for a missing bias.
var zeroBias [nr]float32

// packedLinear is a torch.nn.Linear weight [out, in] with its bias, packed
// for the kernel: ceil(out/nr) panels of [in][nr], zero-padded.
type packedLinear struct {
	in, out int
	w       []float32
	bias    []float32 // padded to a whole number of panels
}

// packLinear packs w [out, in] and b [out] (b may be nil).
func packLinear(w, b []float32, out, in int) *packedLinear {
	panels := (out + nr - 1) / nr
	p := &packedLinear{in: in, out: out, w: make([]float32, panels*in*nr), bias: make([]float32, panels*nr)}
	for o := range out {
		panel, lane := o/nr, o%nr
		dst := p.w[panel*in*nr:]
		for k, v := range w[o*in : (o+1)*in] {
			dst[k*nr+lane] = v
		}
	}
	copy(p.bias, b)
	return p
}

func (p *packedLinear) panels() int { return len(p.bias) / nr }

// tileRows returns a and lda if a holds the mr rows of k values, lda apart,
// that the tile kernel reads, and otherwise a's first rows rows copied into
// pad (at least mr*k values) with the lda of that copy.
func tileRows(a []float32, lda, rows, k int, pad []float32) ([]float32, int) {
	if len(a) >= (mr-1)*lda+k {
		return a, lda
	}
	for r := range rows {
		copy(pad[r*k:(r+1)*k], a[r*lda:r*lda+k])
	}
	return pad[:mr*k], k
}

// apply computes dst[r*out+o] = x[r]·W[o] + b[o] for rows rows of x (in
// values each), or adds it to dst when add is set (the residual connection).
// pad must hold mr*in values. Products big enough are split over panels
// across up to par goroutines.
func (p *packedLinear) apply(dst, x []float32, rows int, add bool, par int, pad []float32) {
	in, out := p.in, p.out
	kern := &active
	if rows == 1 {
		p.applyRow(dst, x, add)
		return
	}
	last := (rows - 1) / mr * mr
	lastA, lastLda := tileRows(x[last*in:], in, rows-last, in, pad)
	panels := p.panels()
	split := rows*in*out >= minParallelWork
	parallelFor(panels, min(par, panels), split, func(_, lo, hi int) {
		for pn := lo; pn < hi; pn++ {
			b := p.w[pn*in*nr : (pn+1)*in*nr]
			bias := p.bias[pn*nr:]
			cols := min(nr, out-pn*nr)
			for r0 := 0; r0 < last; r0 += mr {
				kern.tile(in, x[r0*in:], in, b, dst[r0*out+pn*nr:], out, bias, add, mr, cols)
			}
			kern.tile(in, lastA, lastLda, b, dst[last*out+pn*nr:], out, bias, add, rows-last, cols)
		}
	})
}

// applyRow is apply for one row.
func (p *packedLinear) applyRow(dst, x []float32, add bool) {
	in, out := p.in, p.out
	kern := &active
	pn := 0
	for ; (pn+4)*nr <= out; pn += 4 {
		kern.row4(in, x, p.w[pn*in*nr:(pn+4)*in*nr], dst[pn*nr:(pn+4)*nr], in*nr, p.bias[pn*nr:], add)
	}
	for ; (pn+2)*nr <= out; pn += 2 {
		kern.row2(in, x, p.w[pn*in*nr:(pn+2)*in*nr], dst[pn*nr:(pn+2)*nr], in*nr, p.bias[pn*nr:], add)
	}
	for ; pn < p.panels(); pn++ {
		kern.row(in, x, p.w[pn*in*nr:(pn+1)*in*nr], dst[pn*nr:], p.bias[pn*nr:], add, min(nr, out-pn*nr))
	}
}

// tileGo is the portable tile kernel. The products are rounded before they
// are added (float32(a*b)), so that no compiler fuses them into FMAs in one
// loop and not another: every output is the same sum wherever it is computed.
func tileGo(k int, a []float32, lda int, b, c []float32, ldc int, bias []float32, add bool, rows, cols int) {
	b = b[:k*nr]
	for r := range rows {
		var acc [nr]float32
		for kk, av := range a[r*lda : r*lda+k] {
			bk := b[kk*nr : kk*nr+nr]
			for j := range acc {
				acc[j] += float32(av * bk[j])
			}
		}
		storeRow(c[r*ldc:r*ldc+cols], &acc, bias, add)
	}
}

// rowGo is tileGo for one contiguous row.
func rowGo(k int, a, b, c []float32, bias []float32, add bool, cols int) {
	a, b = a[:k], b[:k*nr]
	var acc [nr]float32
	for kk, av := range a {
		bk := b[kk*nr : kk*nr+nr]
		for j := range acc {
			acc[j] += float32(av * bk[j])
		}
	}
	storeRow(c[:cols], &acc, bias, add)
}

func row2Go(k int, a, b, c []float32, bstride int, bias []float32, add bool) {
	rowGo(k, a, b, c, bias, add, nr)
	rowGo(k, a, b[bstride:], c[nr:], bias[nr:], add, nr)
}

func row4Go(k int, a, b, c []float32, bstride int, bias []float32, add bool) {
	row2Go(k, a, b, c, bstride, bias, add)
	row2Go(k, a, b[2*bstride:], c[2*nr:], bstride, bias[2*nr:], add)
}

func storeRow(c []float32, acc *[nr]float32, bias []float32, add bool) {
	bias = bias[:len(c)]
	for j := range c {
		v := acc[j] + bias[j]
		if add {
			v += c[j]
		}
		c[j] = v
	}
}

// softmaxGo is the portable softmax: scale, subtract the maximum, exp, and
// multiply by the reciprocal of the sum, in float32 like torch.
func softmaxGo(s []float32, scale float32) {
	best := float32(math.Inf(-1))
	for i, v := range s {
		s[i] = v * scale
		best = max(best, s[i])
	}
	var sum float32
	for i, v := range s {
		s[i] = float32(math.Exp(float64(v - best)))
		sum += s[i]
	}
	inv := 1 / sum
	for i := range s {
		s[i] *= inv
	}
}

// geluGo is the portable exact (erf) GELU, rounded to float32.
func geluGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		z := float64(f)
		dst[i] = float32(0.5 * z * (1 + math.Erf(z/math.Sqrt2)))
	}
}

// layerNormGo is the portable LayerNorm: statistics in float64, each value
// rounded to float32.
func layerNormGo(dst, x, w, b []float32) {
	n := len(x)
	// Four sums each, so that the loops are not bound by the latency of one
	// chain of additions.
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < n; i++ {
		s0 += float64(x[i])
	}
	mean := ((s0 + s1) + (s2 + s3)) / float64(n)
	s0, s1, s2, s3 = 0, 0, 0, 0
	i = 0
	for ; i+4 <= n; i += 4 {
		d0, d1, d2, d3 := float64(x[i])-mean, float64(x[i+1])-mean, float64(x[i+2])-mean, float64(x[i+3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < n; i++ {
		d0 := float64(x[i]) - mean
		s0 += d0 * d0
	}
	variance := ((s0 + s1) + (s2 + s3)) / float64(n)
	inv := 1 / math.Sqrt(variance+1e-5)
	dst = dst[:n]
	w, b = w[:n], b[:n]
	for i, v := range x {
		dst[i] = float32((float64(v)-mean)*inv*float64(w[i]) + float64(b[i]))
	}
}

// parallelFor calls fn(worker, lo, hi) over [0, n) split into up to workers
// contiguous chunks, concurrently when split is true and workers > 1.
func parallelFor(n, workers int, split bool, fn func(w, lo, hi int)) {
	if !split || workers <= 1 || n <= 1 {
		fn(0, 0, n)
		return
	}
	workers = min(workers, n)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() { fn(w, lo, hi) })
	}
	wg.Wait()
}

// parallelEach calls fn(worker, i) for every i in [0, n), from the last to
// the first, handing the next i to whichever of up to workers goroutines is
// free: for jobs of uneven size, such as causal attention's row blocks.
func parallelEach(n, workers int, split bool, fn func(w, i int)) {
	if !split || workers <= 1 || n <= 1 {
		for i := n - 1; i >= 0; i-- {
			fn(0, i)
		}
		return
	}
	workers = min(workers, n)
	var next atomic.Int64
	next.Store(int64(n))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(-1))
				if i < 0 {
					return
				}
				fn(w, i)
			}
		})
	}
	wg.Wait()
}
