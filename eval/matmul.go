package eval

// matmul computes, for each of rows input rows x[r] (float64, length in) and
// each output o of w (stored [out, in] like torch.nn.Linear), the float64
// product x[r]·w[o] accumulated in index order with one sum, plus b[o] (b may
// be nil), and stores it as float32 into dst[r*out+o], or adds it to the value
// there when add is set (the residual connection).
//
// Every output is summed in the same order whatever the blocking or the split
// over goroutines, so the result does not depend on rows or par: a Session
// (one row) and a whole sequence agree exactly. Products big enough are split
// over outputs across up to par goroutines.
func matmul(dst []float32, x []float64, rows int, w, b []float32, add bool, par int) {
	in := len(x) / rows
	out := len(w) / in
	dst = dst[:rows*out]
	chunks := min(par, out/8)
	if chunks <= 1 || rows*in*out < minParallelWork {
		matmulRange(dst, x, rows, in, out, w, b, add, 0, out)
		return
	}
	parallelFor(chunks, chunks, true, func(_, lo, hi int) {
		// Chunk c covers outputs [c*out/chunks, (c+1)*out/chunks), rounded to pairs.
		olo, ohi := lo*out/chunks&^1, hi*out/chunks&^1
		if hi == chunks {
			ohi = out
		}
		matmulRange(dst, x, rows, in, out, w, b, add, olo, ohi)
	})
}

// matmulRange is matmul restricted to outputs [olo, ohi).
func matmulRange(dst []float32, x []float64, rows, in, out int, w, b []float32, add bool, olo, ohi int) {
	r := 0
	// Four rows by two outputs: eight independent sums fit in registers with
	// the six operands they share.
	for ; r+4 <= rows; r += 4 {
		x0 := x[r*in : (r+1)*in]
		x1 := x[(r+1)*in : (r+2)*in]
		x2 := x[(r+2)*in : (r+3)*in]
		x3 := x[(r+3)*in : (r+4)*in]
		o := olo
		for ; o+2 <= ohi; o += 2 {
			w0 := w[o*in : (o+1)*in]
			w1 := w[(o+1)*in : (o+2)*in]
			w1 = w1[:len(w0)]
			x0, x1, x2, x3 := x0[:len(w0)], x1[:len(w0)], x2[:len(w0)], x3[:len(w0)]
			var c00, c01, c10, c11, c20, c21, c30, c31 float64
			for k, wk := range w0 {
				b0, b1 := float64(wk), float64(w1[k])
				a := x0[k]
				c00 += a * b0
				c01 += a * b1
				a = x1[k]
				c10 += a * b0
				c11 += a * b1
				a = x2[k]
				c20 += a * b0
				c21 += a * b1
				a = x3[k]
				c30 += a * b0
				c31 += a * b1
			}
			store(dst, r*out+o, c00, b, o, add)
			store(dst, r*out+o+1, c01, b, o+1, add)
			store(dst, (r+1)*out+o, c10, b, o, add)
			store(dst, (r+1)*out+o+1, c11, b, o+1, add)
			store(dst, (r+2)*out+o, c20, b, o, add)
			store(dst, (r+2)*out+o+1, c21, b, o+1, add)
			store(dst, (r+3)*out+o, c30, b, o, add)
			store(dst, (r+3)*out+o+1, c31, b, o+1, add)
		}
		for ; o < ohi; o++ {
			for rr := r; rr < r+4; rr++ {
				store(dst, rr*out+o, dot1(x[rr*in:(rr+1)*in], w[o*in:(o+1)*in]), b, o, add)
			}
		}
	}
	for ; r < rows; r++ {
		xr := x[r*in : (r+1)*in]
		o := olo
		// One row by four outputs: four independent sums.
		for ; o+4 <= ohi; o += 4 {
			w0 := w[o*in : (o+1)*in]
			w1 := w[(o+1)*in : (o+2)*in][:len(w0)]
			w2 := w[(o+2)*in : (o+3)*in][:len(w0)]
			w3 := w[(o+3)*in : (o+4)*in][:len(w0)]
			xr := xr[:len(w0)]
			var c0, c1, c2, c3 float64
			for k, wk := range w0 {
				a := xr[k]
				c0 += a * float64(wk)
				c1 += a * float64(w1[k])
				c2 += a * float64(w2[k])
				c3 += a * float64(w3[k])
			}
			store(dst, r*out+o, c0, b, o, add)
			store(dst, r*out+o+1, c1, b, o+1, add)
			store(dst, r*out+o+2, c2, b, o+2, add)
			store(dst, r*out+o+3, c3, b, o+3, add)
		}
		for ; o < ohi; o++ {
			store(dst, r*out+o, dot1(xr, w[o*in:(o+1)*in]), b, o, add)
		}
	}
}

// dot1 is x·w summed in index order with one sum, as matmulRange's blocks do.
func dot1(x []float64, w []float32) float64 {
	w = w[:len(x)]
	var s float64
	for k, a := range x {
		s += a * float64(w[k])
	}
	return s
}

// store writes acc + b[o] (b may be nil) to dst[i] as float32, or adds it to
// dst[i] when add is set.
func store(dst []float32, i int, acc float64, b []float32, o int, add bool) {
	if b != nil {
		acc += float64(b[o])
	}
	if add {
		acc += float64(dst[i])
	}
	dst[i] = float32(acc)
}
