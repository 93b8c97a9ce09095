package eval

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/supplyline/supplyline/train"
)

// kernelSets are the kernel sets this machine can run, the portable one first.
func kernelSets() []kernels {
	sets := []kernels{goKernels}
	if hasAVX512() {
		sets = append(sets, avx512Kernels)
	}
	return sets
}

// withKernels runs fn with set installed as the active kernels.
func withKernels(t testing.TB, set kernels, fn func()) {
	t.Helper()
	prev := active
	active = set
	defer func() { active = prev }()
	fn()
}

// requireAVX512 skips a test of the assembly where the CPU cannot run it.
func requireAVX512(t *testing.T) {
	t.Helper()
	if !hasAVX512() {
		t.Skip("no AVX-512 on this machine (or not amd64, or built with purego)")
	}
}

func randomFloats(rng *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(scale * rng.NormFloat64())
	}
	return out
}

// TestTileKernelsAgree checks the assembly tile against the portable one
// over edge shapes (one k, odd k, partial rows and columns, add and bias),
// and that the one-row kernels give exactly the tile's results: the property
// that makes a Session agree with Logits bit for bit.
func TestTileKernelsAgree(t *testing.T) {
	requireAVX512(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 3, 16, 64, 257} {
		for _, rows := range []int{1, 5, mr} {
			for _, cols := range []int{1, 17, nr} {
				for _, add := range []bool{false, true} {
					lda, ldc := k+3, nr+5
					a := randomFloats(rng, mr*lda, 1)
					b := randomFloats(rng, k*nr, 1)
					bias := randomFloats(rng, nr, 1)
					c0 := randomFloats(rng, rows*ldc, 1)
					want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
					goKernels.tile(k, a, lda, b, want, ldc, bias, add, rows, cols)
					avx512Kernels.tile(k, a, lda, b, got, ldc, bias, add, rows, cols)
					for r := range rows {
						for j := range ldc {
							i := r*ldc + j
							if j >= cols {
								if got[i] != c0[i] {
									t.Fatalf("k %d rows %d cols %d: wrote column %d outside the tile", k, rows, cols, j)
								}
								continue
							}
							var mag float64
							for kk := range k {
								mag += math.Abs(float64(a[r*lda+kk]) * float64(b[kk*nr+j]))
							}
							mag += math.Abs(float64(bias[j])) + math.Abs(float64(c0[i]))
							if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*mag {
								t.Fatalf("k %d rows %d cols %d add %v: [%d,%d] asm %g, go %g", k, rows, cols, add, r, j, got[i], want[i])
							}
						}
						// The same row through the one-row kernel: exactly equal.
						one := append([]float32(nil), c0[r*ldc:r*ldc+cols]...)
						avx512Kernels.row(k, a[r*lda:r*lda+k], b, one, bias, add, cols)
						for j := range cols {
							if one[j] != got[r*ldc+j] {
								t.Fatalf("k %d row %d column %d: row kernel %g, tile %g", k, r, j, one[j], got[r*ldc+j])
							}
						}
					}
				}
			}
		}
	}
	// Two and four panels at once equal one panel at a time.
	for _, k := range []int{1, 7, 64} {
		a := randomFloats(rng, k, 1)
		stride := k*nr + 5
		b := randomFloats(rng, 3*stride+k*nr, 1)
		bias := randomFloats(rng, 4*nr, 1)
		for _, add := range []bool{false, true} {
			c0 := randomFloats(rng, 4*nr, 1)
			one := append([]float32(nil), c0...)
			for p := range 4 {
				avx512Kernels.row(k, a, b[p*stride:], one[p*nr:], bias[p*nr:], add, nr)
			}
			two := append([]float32(nil), c0...)
			avx512Kernels.row2(k, a, b, two, stride, bias, add)
			avx512Kernels.row2(k, a, b[2*stride:], two[2*nr:], stride, bias[2*nr:], add)
			four := append([]float32(nil), c0...)
			avx512Kernels.row4(k, a, b, four, stride, bias, add)
			for j := range one {
				if two[j] != one[j] || four[j] != one[j] {
					t.Fatalf("k %d add %v column %d: two panels %g, four %g, one at a time %g", k, add, j, two[j], four[j], one[j])
				}
			}
		}
	}
}

func TestSoftmaxKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, set := range kernelSets() {
		t.Run(set.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 15, 16, 17, 33, 129} {
				for _, spread := range []float64{0.1, 3, 60} {
					s := randomFloats(rng, n, spread)
					const scale = 0.25
					want := make([]float64, n)
					best := math.Inf(-1)
					for _, v := range s {
						best = math.Max(best, float64(v*scale))
					}
					var sum float64
					for i, v := range s {
						want[i] = math.Exp(float64(v*scale) - best)
						sum += want[i]
					}
					set.softmax(s, scale)
					var total float64
					for i := range s {
						want[i] /= sum
						total += float64(s[i])
						if d := math.Abs(float64(s[i]) - want[i]); d > 2e-7+1e-6*want[i] {
							t.Fatalf("n %d spread %g: p[%d] = %g, want %g", n, spread, i, s[i], want[i])
						}
					}
					if math.Abs(total-1) > 1e-5 {
						t.Fatalf("n %d spread %g: probabilities sum to %g", n, spread, total)
					}
				}
			}
		})
	}
}

func TestGELUKernels(t *testing.T) {
	src := []float32{0, -0.0, 1e-30, -1e-30, 1e-4, -1e-4, 0.5, -0.5, 1, -1, 3, -3, 5.5, -5.5, 9, -9, 20, -20, 1e4, -1e4}
	for x := -8.0; x <= 8; x += 0.0137 {
		src = append(src, float32(x))
	}
	for _, set := range kernelSets() {
		t.Run(set.name, func(t *testing.T) {
			dst := make([]float32, len(src))
			set.gelu(dst, src)
			for i, x := range src {
				z := float64(x)
				want := 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
				// erf is within 1.5e-7 of exact (Abramowitz and Stegun 7.1.26,
				// as ATen), so GELU within |x|*0.75e-7, plus float32 rounding.
				if d := math.Abs(float64(dst[i]) - want); d > 1e-7*math.Abs(z)+2e-7*math.Abs(want)+1e-30 {
					t.Errorf("gelu(%g) = %g, want %g (diff %g)", x, dst[i], want, d)
				}
			}
		})
	}
}

func TestLayerNormKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, set := range kernelSets() {
		t.Run(set.name, func(t *testing.T) {
			for _, n := range []int{1, 4, 16, 17, 48, 64, 100} {
				for _, offset := range []float64{0, 30} {
					x := randomFloats(rng, n, 2)
					for i := range x {
						x[i] += float32(offset)
					}
					w, b := randomFloats(rng, n, 1), randomFloats(rng, n, 1)
					dst := make([]float32, n)
					set.layerNorm(dst, x, w, b)
					var mean, variance float64
					for _, v := range x {
						mean += float64(v)
					}
					mean /= float64(n)
					for _, v := range x {
						variance += (float64(v) - mean) * (float64(v) - mean)
					}
					variance /= float64(n)
					for i, v := range x {
						norm := (float64(v) - mean) / math.Sqrt(variance+1e-5)
						want := norm*float64(w[i]) + float64(b[i])
						tol := 1e-6*(math.Abs(norm*float64(w[i]))+math.Abs(float64(b[i]))) + 1e-6*offset*math.Abs(float64(w[i]))/math.Sqrt(variance+1e-5)
						if d := math.Abs(float64(dst[i]) - want); d > tol+1e-7 {
							t.Fatalf("n %d offset %g: [%d] = %g, want %g", n, offset, i, dst[i], want)
						}
					}
				}
			}
		})
	}
}

// TestKernelSetsAgreeOnModel runs one model through every kernel set: the
// logits agree within the parity tolerance, and under each set a Session and
// LogitsBatch on any number of cores reproduce Logits exactly.
func TestKernelSetsAgreeOnModel(t *testing.T) {
	// Dim 80 with 2 heads: head size 40 spans two value panels; context 40
	// spans two key panels and ends in a partial row block.
	cfg := train.ModelConfig{VocabSize: 70, ContextLen: 40, Layers: 2, Heads: 2, Dim: 80}
	m := randomModel(t, cfg, 4)
	rng := rand.New(rand.NewPCG(7, 8))
	seqs := make([][]int, 5)
	for i, n := range []int{40, 1, 13, 33, 24} {
		for range n {
			seqs[i] = append(seqs[i], rng.IntN(cfg.VocabSize))
		}
	}
	var ref [][][]float32
	for _, set := range kernelSets() {
		t.Run(set.name, func(t *testing.T) {
			withKernels(t, set, func() {
				want := make([][][]float32, len(seqs))
				for i, seq := range seqs {
					want[i] = m.Logits(seq)
				}
				for _, procs := range []int{1, 2, 5} {
					prev := runtime.GOMAXPROCS(procs)
					batch := m.LogitsBatch(seqs)
					single := m.Logits(seqs[0])
					runtime.GOMAXPROCS(prev)
					for i := range seqs {
						requireEqualLogits(t, batch[i], want[i], "LogitsBatch", procs)
					}
					requireEqualLogits(t, single, want[0], "Logits", procs)
				}
				s := m.NewSession()
				for i, id := range seqs[0] {
					got, err := s.Append(id)
					if err != nil {
						t.Fatal(err)
					}
					requireEqualLogits(t, [][]float32{got}, want[0][i:i+1], "Session", 1)
				}
				if ref == nil {
					ref = want
					return
				}
				var maxDiff float64
				for i := range want {
					for p := range want[i] {
						for j := range want[i][p] {
							maxDiff = math.Max(maxDiff, math.Abs(float64(want[i][p][j]-ref[i][p][j])))
						}
					}
				}
				t.Logf("max |%s - %s| = %.3g", set.name, goKernels.name, maxDiff)
				if maxDiff > 1e-4 {
					t.Errorf("max |%s - %s| = %g, want <= 1e-4", set.name, goKernels.name, maxDiff)
				}
			})
		})
	}
}

func requireEqualLogits(t *testing.T, got, want [][]float32, what string, procs int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s (GOMAXPROCS %d): %d positions, want %d", what, procs, len(got), len(want))
	}
	for p := range want {
		for j := range want[p] {
			if got[p][j] != want[p][j] {
				t.Fatalf("%s (GOMAXPROCS %d) position %d token %d: %g, Logits %g", what, procs, p, j, got[p][j], want[p][j])
			}
		}
	}
}

func BenchmarkTile(b *testing.B) {
	for _, set := range kernelSets() {
		b.Run(set.name, func(b *testing.B) {
			const k = 256
			rng := rand.New(rand.NewPCG(1, 1))
			a := randomFloats(rng, mr*k, 1)
			w := randomFloats(rng, k*nr, 1)
			c := make([]float32, mr*nr)
			b.ReportAllocs()
			for b.Loop() {
				set.tile(k, a, k, w, c, nr, zeroBias[:], false, mr, nr)
			}
			b.ReportMetric(float64(b.N)*2*mr*nr*k/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
