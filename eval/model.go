package eval

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/supplyline/supplyline/train"
)

// Model is the GPT of train.ModelConfig, loaded for inference in pure Go.
// Weights stay float32 as the trainer wrote them; dot products, LayerNorm and
// softmax accumulate in float64, which keeps the logits within 1e-4 of
// PyTorch's. A Model is read-only after LoadModel and safe for concurrent use;
// a Session is not.
type Model struct {
	cfg     train.ModelConfig
	step    int
	dir     string
	lineage train.Lineage
	wte     []float32 // [V, d], also the tied lm_head
	wpe     []float32 // [T, d]
	blocks  []block
	lnfW    []float32
	lnfB    []float32
}

type block struct {
	ln1W, ln1B   []float32
	attnW, attnB []float32 // [3d, d], [3d]
	projW, projB []float32 // [d, d], [d]
	ln2W, ln2B   []float32
	fcW, fcB     []float32 // [4d, d], [4d]
	mlpW, mlpB   []float32 // [d, 4d], [d]
}

// LoadModel reads a checkpoint directory (state.json and model.safetensors).
// checkpointDir may also be a run's checkpoint root holding a "latest" file,
// in which case the newest checkpoint is loaded. Every contract tensor must be
// present with its exact shape and nothing else may be; a violation is a
// *TensorError naming the tensor.
func LoadModel(checkpointDir string) (*Model, error) {
	dir, err := resolveCheckpoint(checkpointDir)
	if err != nil {
		return nil, err
	}
	st, err := train.ReadState(dir)
	if err != nil {
		return nil, err
	}
	cfg := st.Model.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: model config: %w", ErrBadModel, dir, err)
	}
	tensors, err := train.ReadSafetensors(filepath.Join(dir, train.ModelFile))
	if err != nil {
		return nil, err
	}
	m, err := newModel(cfg, tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	m.step = st.Step
	m.dir = dir
	m.lineage = st.Lineage
	return m, nil
}

func resolveCheckpoint(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, train.StateFile)); err == nil {
		return dir, nil
	}
	latest, err := train.LatestCheckpoint(dir)
	if err != nil {
		return "", err
	}
	if latest == "" {
		return "", fmt.Errorf("%w: %s has neither %s nor %s", train.ErrBadCheckpoint, dir, train.StateFile, train.LatestFile)
	}
	return latest, nil
}

// ContractShapes returns every tensor name of model.safetensors for cfg with
// its shape, as documented on train.ModelConfig. cfg must have its defaults applied.
func ContractShapes(cfg train.ModelConfig) map[string][]int {
	v, t, d := cfg.VocabSize, cfg.ContextLen, cfg.Dim
	s := map[string][]int{
		"wte.weight":  {v, d},
		"wpe.weight":  {t, d},
		"ln_f.weight": {d},
		"ln_f.bias":   {d},
	}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("h.%d.", i)
		s[p+"ln_1.weight"] = []int{d}
		s[p+"ln_1.bias"] = []int{d}
		s[p+"attn.c_attn.weight"] = []int{3 * d, d}
		s[p+"attn.c_attn.bias"] = []int{3 * d}
		s[p+"attn.c_proj.weight"] = []int{d, d}
		s[p+"attn.c_proj.bias"] = []int{d}
		s[p+"ln_2.weight"] = []int{d}
		s[p+"ln_2.bias"] = []int{d}
		s[p+"mlp.c_fc.weight"] = []int{4 * d, d}
		s[p+"mlp.c_fc.bias"] = []int{4 * d}
		s[p+"mlp.c_proj.weight"] = []int{d, 4 * d}
		s[p+"mlp.c_proj.bias"] = []int{d}
	}
	return s
}

// newModel checks tensors against the contract and builds the Model.
func newModel(cfg train.ModelConfig, tensors map[string]train.Tensor) (*Model, error) {
	want := ContractShapes(cfg)
	var errs []error
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t, ok := tensors[name]
		switch {
		case !ok:
			errs = append(errs, &TensorError{Name: name, Reason: fmt.Sprintf("missing (want shape %v)", want[name])})
		case !slices.Equal(t.Shape, want[name]):
			errs = append(errs, &TensorError{Name: name, Reason: fmt.Sprintf("shape %v, want %v", t.Shape, want[name])})
		}
	}
	var extra []string
	for name := range tensors {
		if _, ok := want[name]; !ok {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		reason := "unexpected tensor"
		if strings.HasPrefix(name, "module.") {
			reason += " (DDP prefix not stripped)"
		}
		errs = append(errs, &TensorError{Name: name, Reason: reason})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	get := func(name string) []float32 { return tensors[name].Data }
	m := &Model{
		cfg:  cfg,
		wte:  get("wte.weight"),
		wpe:  get("wpe.weight"),
		lnfW: get("ln_f.weight"),
		lnfB: get("ln_f.bias"),
	}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("h.%d.", i)
		m.blocks = append(m.blocks, block{
			ln1W: get(p + "ln_1.weight"), ln1B: get(p + "ln_1.bias"),
			attnW: get(p + "attn.c_attn.weight"), attnB: get(p + "attn.c_attn.bias"),
			projW: get(p + "attn.c_proj.weight"), projB: get(p + "attn.c_proj.bias"),
			ln2W: get(p + "ln_2.weight"), ln2B: get(p + "ln_2.bias"),
			fcW: get(p + "mlp.c_fc.weight"), fcB: get(p + "mlp.c_fc.bias"),
			mlpW: get(p + "mlp.c_proj.weight"), mlpB: get(p + "mlp.c_proj.bias"),
		})
	}
	return m, nil
}

// Config returns the model's shape, defaults applied.
func (m *Model) Config() train.ModelConfig { return m.cfg }

// VocabSize is the number of logits per position.
func (m *Model) VocabSize() int { return m.cfg.VocabSize }

// ContextLen is the longest sequence the model accepts.
func (m *Model) ContextLen() int { return m.cfg.ContextLen }

// Step is the optimiser step of the checkpoint (from state.json).
func (m *Model) Step() int { return m.step }

// Lineage is the checkpoint's data lineage (from state.json).
func (m *Model) Lineage() train.Lineage { return m.lineage }

// Dir is the checkpoint directory the model was loaded from.
func (m *Model) Dir() string { return m.dir }

// Logits runs the full causal forward pass over ids and returns, for every
// position i, the logits of the token after ids[:i+1]. It panics when ids is
// longer than ContextLen or holds an id outside the vocabulary, like an index
// out of range; use a Session for checked, incremental decoding.
//
// All positions go through each matrix product together, and long sequences
// spread the products over GOMAXPROCS goroutines; the result does not depend
// on how the work is split.
func (m *Model) Logits(ids []int) [][]float32 {
	return m.forward(ids, runtime.GOMAXPROCS(0))
}

// LogitsBatch returns Logits(seqs[i]) for every sequence, exactly, running the
// sequences in parallel on GOMAXPROCS goroutines. It panics like Logits.
func (m *Model) LogitsBatch(seqs [][]int) [][][]float32 {
	procs := runtime.GOMAXPROCS(0)
	out := make([][][]float32, len(seqs))
	if len(seqs) == 0 {
		return out
	}
	workers := min(procs, len(seqs))
	par := max(1, procs/len(seqs)) // spare cores go inside the sequences
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		next    int
		failure any
	)
	for range workers {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					failure = r
					mu.Unlock()
				}
			}()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(seqs) {
					return
				}
				out[i] = m.forward(seqs[i], par)
			}
		})
	}
	wg.Wait()
	if failure != nil {
		panic(failure) // a worker's bad sequence, raised on the caller's goroutine
	}
	return out
}

// minParallelWork is the number of multiply-adds below which a matrix product
// is not worth splitting across goroutines.
const minParallelWork = 1 << 17

// forward is the whole-sequence pass behind Logits, using up to par goroutines.
func (m *Model) forward(ids []int, par int) [][]float32 {
	cfg := m.cfg
	d, heads, v := cfg.Dim, cfg.Heads, cfg.VocabSize
	hd := d / heads
	n := len(ids)
	if n > cfg.ContextLen {
		panic(fmt.Errorf("%w: %d tokens", ErrContextFull, cfg.ContextLen))
	}
	for _, id := range ids {
		if id < 0 || id >= v {
			panic(fmt.Errorf("%w: id %d, vocabulary %d", ErrTokenRange, id, v))
		}
	}
	out := make([][]float32, n)
	if n == 0 {
		return out
	}
	x := make([]float32, n*d)   // residual stream
	h := make([]float64, n*4*d) // normalised input, then GELU output
	qkv := make([]float32, n*3*d)
	y := make([]float64, n*d)
	ff := make([]float32, n*4*d)
	for i, id := range ids {
		for c := range d {
			x[i*d+c] = m.wte[id*d+c] + m.wpe[i*d+c]
		}
	}
	workers := max(1, min(par, n))
	atts := make([][]float64, workers)
	for w := range atts {
		atts[w] = make([]float64, n)
	}
	scale := 1 / math.Sqrt(float64(hd))
	for li := range m.blocks {
		b := &m.blocks[li]
		for i := range n {
			layerNorm(h[i*d:(i+1)*d], x[i*d:(i+1)*d], b.ln1W, b.ln1B)
		}
		matmul(qkv, h[:n*d], n, b.attnW, b.attnB, false, par)
		k, vv := qkv[d:], qkv[2*d:]
		parallelFor(n, workers, n*n*d >= minParallelWork, func(w, lo, hi int) {
			for i := lo; i < hi; i++ {
				attend(y[i*d:(i+1)*d], qkv[i*3*d:i*3*d+d], k, vv, 3*d, i+1, heads, scale, atts[w])
			}
		})
		matmul(x, y, n, b.projW, b.projB, true, par)
		for i := range n {
			layerNorm(h[i*d:(i+1)*d], x[i*d:(i+1)*d], b.ln2W, b.ln2B)
		}
		matmul(ff, h[:n*d], n, b.fcW, b.fcB, false, par)
		gelu(h[:n*4*d], ff)
		matmul(x, h[:n*4*d], n, b.mlpW, b.mlpB, true, par)
	}
	for i := range n {
		layerNorm(h[i*d:(i+1)*d], x[i*d:(i+1)*d], m.lnfW, m.lnfB)
	}
	logits := make([]float32, n*v)
	matmul(logits, h[:n*d], n, m.wte, nil, false, par)
	for i := range out {
		out[i] = logits[i*v : (i+1)*v : (i+1)*v]
	}
	return out
}

// attend writes causal self-attention for one query to y: q holds every
// head's query, position j's keys start at k[j*stride] and its values at
// v[j*stride], and the first n positions are visible. att needs n entries.
func attend(y []float64, q, k, v []float32, stride, n, heads int, scale float64, att []float64) {
	hd := len(y) / heads
	att = att[:n]
	for hh := range heads {
		qh := q[hh*hd : (hh+1)*hd]
		best := math.Inf(-1)
		for j := range n {
			a := dot(qh, k[j*stride+hh*hd:j*stride+(hh+1)*hd]) * scale
			att[j] = a
			best = max(best, a)
		}
		var sum float64
		for j := range att {
			att[j] = math.Exp(att[j] - best)
			sum += att[j]
		}
		for c := range hd {
			var acc float64
			off := hh*hd + c
			for j := range att {
				acc += att[j] * float64(v[j*stride+off])
			}
			y[off] = float64(float32(acc / sum))
		}
	}
}

// gelu writes the exact (erf) GELU of ff to dst, rounded through float32 like
// torch's float32 activations.
func gelu(dst []float64, ff []float32) {
	dst = dst[:len(ff)]
	for i, f := range ff {
		z := float64(f)
		dst[i] = float64(float32(0.5 * z * (1 + math.Erf(z/math.Sqrt2))))
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

// Session decodes incrementally with a key/value cache: each appended token
// costs one position's work instead of a forward pass over the whole prefix.
// A Session is not safe for concurrent use; make one per goroutine.
type Session struct {
	m      *Model
	n      int         // tokens in the cache
	k, v   [][]float32 // per layer, [ContextLen, d]
	x      []float32   // residual stream
	h      []float64   // normalised input, then GELU output
	qkv    []float32
	y      []float64
	ff     []float32
	att    []float64
	logits []float32
}

// NewSession returns an empty Session.
func (m *Model) NewSession() *Session {
	d, t := m.cfg.Dim, m.cfg.ContextLen
	s := &Session{
		m:      m,
		k:      make([][]float32, len(m.blocks)),
		v:      make([][]float32, len(m.blocks)),
		x:      make([]float32, d),
		h:      make([]float64, 4*d),
		qkv:    make([]float32, 3*d),
		y:      make([]float64, d),
		ff:     make([]float32, 4*d),
		att:    make([]float64, t),
		logits: make([]float32, m.cfg.VocabSize),
	}
	for i := range m.blocks {
		s.k[i] = make([]float32, t*d)
		s.v[i] = make([]float32, t*d)
	}
	return s
}

// Len is the number of tokens in the cache.
func (s *Session) Len() int { return s.n }

// Truncate drops every cached token from position n on, so that a prompt
// sharing a prefix with the previous one only pays for the rest.
func (s *Session) Truncate(n int) {
	if n < s.n {
		s.n = max(n, 0)
	}
}

// Append feeds ids and returns the logits of the next token after the last of
// them (nil when ids is empty). Only the last position pays for the vocabulary
// projection. The returned slice is reused by the next call. On error the
// tokens before the failing one stay in the cache.
func (s *Session) Append(ids ...int) ([]float32, error) {
	for i, id := range ids {
		if err := s.step(id, i == len(ids)-1); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.logits, nil
}

// step runs one position through the network and appends its keys and values.
// It uses the same kernels as forward, so its logits equal Logits' exactly.
func (s *Session) step(id int, wantLogits bool) error {
	m := s.m
	cfg := m.cfg
	d, heads := cfg.Dim, cfg.Heads
	hd := d / heads
	pos := s.n
	if pos >= cfg.ContextLen {
		return fmt.Errorf("%w: %d tokens", ErrContextFull, cfg.ContextLen)
	}
	if id < 0 || id >= cfg.VocabSize {
		return fmt.Errorf("%w: id %d, vocabulary %d", ErrTokenRange, id, cfg.VocabSize)
	}
	x := s.x
	for i := range x {
		x[i] = m.wte[id*d+i] + m.wpe[pos*d+i]
	}
	scale := 1 / math.Sqrt(float64(hd))
	h := s.h[:d]
	for li := range m.blocks {
		b := &m.blocks[li]
		layerNorm(h, x, b.ln1W, b.ln1B)
		matmul(s.qkv, h, 1, b.attnW, b.attnB, false, 1)
		copy(s.k[li][pos*d:(pos+1)*d], s.qkv[d:2*d])
		copy(s.v[li][pos*d:(pos+1)*d], s.qkv[2*d:3*d])
		attend(s.y, s.qkv[:d], s.k[li], s.v[li], d, pos+1, heads, scale, s.att)
		matmul(x, s.y, 1, b.projW, b.projB, true, 1)
		layerNorm(h, x, b.ln2W, b.ln2B)
		matmul(s.ff, h, 1, b.fcW, b.fcB, false, 1)
		gelu(s.h, s.ff)
		matmul(x, s.h, 1, b.mlpW, b.mlpB, true, 1)
	}
	s.n++
	if wantLogits {
		layerNorm(h, x, m.lnfW, m.lnfB)
		matmul(s.logits, h, 1, m.wte, nil, false, 1)
	}
	return nil
}

// layerNorm writes LayerNorm(x) with eps 1e-5 (biased variance, as torch) to
// dst, each value rounded through float32 like torch's activations.
func layerNorm(dst []float64, x, w, b []float32) {
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var variance float64
	for _, v := range x {
		dv := float64(v) - mean
		variance += dv * dv
	}
	variance /= float64(len(x))
	inv := 1 / math.Sqrt(variance+1e-5)
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float64(float32((float64(v)-mean)*inv*float64(w[i]) + float64(b[i])))
	}
}

// dot accumulates in float64 with four independent sums, so the loop is not
// bound by the latency of one chain of additions.
func dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}
