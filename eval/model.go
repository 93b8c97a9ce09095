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

// Model is the GPT of train.ModelConfig, loaded for inference in Go, with
// AVX-512 assembly kernels on amd64 CPUs that have it (see matmul.go).
// Weights stay float32 as the trainer wrote them, packed once at load for the
// matrix kernel; activations are float32 and products accumulate in float32,
// as in PyTorch, which keeps the logits within 1e-4 of PyTorch's. A Model is
// read-only after LoadModel and safe for concurrent use; a Session is not.
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
	lmHead  *packedLinear // wte, packed
	work    sync.Pool     // *workspace, sized for ContextLen
}

type block struct {
	ln1W, ln1B []float32
	attn       *packedLinear // [3d, d]
	proj       *packedLinear // [d, d]
	ln2W, ln2B []float32
	fc         *packedLinear // [4d, d]
	mlp        *packedLinear // [d, 4d]
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
	v, d := cfg.VocabSize, cfg.Dim
	m := &Model{
		cfg:    cfg,
		wte:    get("wte.weight"),
		wpe:    get("wpe.weight"),
		lnfW:   get("ln_f.weight"),
		lnfB:   get("ln_f.bias"),
		lmHead: packLinear(get("wte.weight"), nil, v, d),
	}
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("h.%d.", i)
		m.blocks = append(m.blocks, block{
			ln1W: get(p + "ln_1.weight"), ln1B: get(p + "ln_1.bias"),
			attn: packLinear(get(p+"attn.c_attn.weight"), get(p+"attn.c_attn.bias"), 3*d, d),
			proj: packLinear(get(p+"attn.c_proj.weight"), get(p+"attn.c_proj.bias"), d, d),
			ln2W: get(p + "ln_2.weight"), ln2B: get(p + "ln_2.bias"),
			fc:  packLinear(get(p+"mlp.c_fc.weight"), get(p+"mlp.c_fc.bias"), 4*d, d),
			mlp: packLinear(get(p+"mlp.c_proj.weight"), get(p+"mlp.c_proj.bias"), d, 4*d),
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
const minParallelWork = 1 << 21

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
	ws := m.getWorkspace(par)
	defer m.work.Put(ws)
	x, h, qkv, y, ff, packed := ws.x, ws.h, ws.qkv, ws.y, ws.ff, ws.packed
	for i, id := range ids {
		for c := range d {
			x[i*d+c] = m.wte[id*d+c] + m.wpe[i*d+c]
		}
	}
	kv, scratch := ws.kv, ws.attn
	blocks := (n + mr - 1) / mr
	workers := max(1, min(par, blocks))
	scale := attnScale(hd)
	split := n*n*d >= minParallelWork
	for li := range m.blocks {
		b := &m.blocks[li]
		layerNorms(h, x, n, b.ln1W, b.ln1B)
		b.attn.apply(qkv, h, n, false, par, packed)
		for j := range n {
			kv.put(j, qkv[j*3*d+d:j*3*d+2*d], qkv[j*3*d+2*d:(j+1)*3*d])
		}
		parallelEach(blocks, workers, split, func(w, blk int) {
			r0 := blk * mr
			attendRows(y[r0*d:], d, qkv[r0*3*d:], 3*d, min(mr, n-r0), r0, kv, scale, scratch[w])
		})
		b.proj.apply(x, y, n, true, par, packed)
		layerNorms(h, x, n, b.ln2W, b.ln2B)
		b.fc.apply(ff, h, n, false, par, packed)
		parallelFor(n, par, split, func(_, lo, hi int) {
			active.gelu(h[lo*4*d:hi*4*d], ff[lo*4*d:hi*4*d])
		})
		b.mlp.apply(x, h, n, true, par, packed)
	}
	layerNorms(h, x, n, m.lnfW, m.lnfB)
	logits := make([]float32, n*v)
	m.lmHead.apply(logits, h, n, false, par, packed)
	for i := range out {
		out[i] = logits[i*v : (i+1)*v : (i+1)*v]
	}
	return out
}

// workspace is forward's working memory, kept in Model.work between calls
// so that a forward pass allocates little more than the logits it returns.
// Every buffer is written before it is read, so nothing is cleared.
type workspace struct {
	x      []float32 // residual stream
	h      []float32 // normalised input, then GELU output
	qkv    []float32
	y      []float32 // attention output
	ff     []float32
	packed []float32 // a product's last rows, padded for the kernel (tileRows)
	kv     *kvCache
	attn   []*attnScratch // one per goroutine
}

// getWorkspace returns a workspace for up to ContextLen positions with
// scratch for par goroutines.
func (m *Model) getWorkspace(par int) *workspace {
	d, t, hd := m.cfg.Dim, m.cfg.ContextLen, m.cfg.Dim/m.cfg.Heads
	ws, _ := m.work.Get().(*workspace)
	if ws == nil {
		ws = &workspace{
			x:      make([]float32, t*d),
			h:      make([]float32, t*4*d),
			qkv:    make([]float32, t*3*d),
			y:      make([]float32, t*d),
			ff:     make([]float32, t*4*d),
			packed: make([]float32, mr*4*d),
			kv:     newKVCache(m.cfg.Heads, hd, t),
		}
	}
	for len(ws.attn) < par {
		ws.attn = append(ws.attn, newAttnScratch(hd, t))
	}
	return ws
}

// attnScale is 1/sqrt(head dim) in float32, as torch multiplies the scores.
func attnScale(hd int) float32 { return float32(1 / math.Sqrt(float64(hd))) }

// kvCache holds the keys and values of every position, per head, packed for
// the kernels: keys in panels of nr positions ([hd][nr] each), so that a
// block of queries' scores is a kernel tile, and values in panels of nr
// channels ([capacity][nr] each), the other side of the weighted sum.
type kvCache struct {
	heads, hd, capacity int
	kPanels, vPanels    int // per head
	k, v                []float32
}

func newKVCache(heads, hd, capacity int) *kvCache {
	kp, vp := (capacity+nr-1)/nr, (hd+nr-1)/nr
	return &kvCache{
		heads: heads, hd: hd, capacity: capacity,
		kPanels: kp, vPanels: vp,
		k: make([]float32, heads*kp*hd*nr),
		v: make([]float32, heads*vp*capacity*nr),
	}
}

// put stores position j's keys and values (every head's, d each).
func (c *kvCache) put(j int, k, v []float32) {
	hd := c.hd
	for h := range c.heads {
		kb := c.k[(h*c.kPanels+j/nr)*hd*nr+j%nr:]
		kb = kb[:(hd-1)*nr+1]
		for i, x := range k[h*hd : (h+1)*hd] {
			kb[i*nr] = x
		}
		for p := range c.vPanels {
			vh := v[h*hd+p*nr : h*hd+min(hd, (p+1)*nr)]
			copy(c.v[((h*c.vPanels+p)*c.capacity+j)*nr:], vh)
		}
	}
}

// keys is head h's panel p of keys: positions [p*nr, (p+1)*nr).
func (c *kvCache) keys(h, p int) []float32 {
	o := (h*c.kPanels + p) * c.hd * nr
	return c.k[o : o+c.hd*nr]
}

// values is head h's panel p of values: channels [p*nr, (p+1)*nr).
func (c *kvCache) values(h, p int) []float32 {
	o := (h*c.vPanels + p) * c.capacity * nr
	return c.v[o : o+c.capacity*nr]
}

// attnScratch is one goroutine's working memory for attendRows.
type attnScratch struct {
	stride int       // of s's rows
	s      []float32 // scores, then probabilities: mr rows
	q      []float32 // one head's queries, padded for the kernel (tileRows)
}

func newAttnScratch(hd, capacity int) *attnScratch {
	stride := (capacity + nr - 1) / nr * nr
	return &attnScratch{
		stride: stride,
		s:      make([]float32, mr*stride),
		q:      make([]float32, mr*hd),
	}
}

// attendRows writes causal self-attention for rows (1..mr) queries at
// positions i0, i0+1, ... to y (ldy apart): q holds their queries (ldq
// apart, every head's), kv the keys and values of positions up to the last
// of them. The scores of a block are computed for every key the block sees
// and the probabilities past each query's own position are set to zero,
// which adds exact zeros to its weighted sum: one row gives the same result
// alone (a Session) or in a block (a whole sequence).
func attendRows(y []float32, ldy int, q []float32, ldq, rows, i0 int, kv *kvCache, scale float32, ws *attnScratch) {
	kern := &active
	hd := kv.hd
	keys := i0 + rows
	for h := range kv.heads {
		if rows == 1 {
			s := ws.s[:keys]
			qh := q[h*hd : (h+1)*hd]
			for p := 0; p*nr < keys; p++ {
				kern.row(hd, qh, kv.keys(h, p), ws.s[p*nr:], zeroBias[:], false, min(nr, keys-p*nr))
			}
			kern.softmax(s, scale)
			for p := 0; p*nr < hd; p++ {
				kern.row(keys, s, kv.values(h, p), y[h*hd+p*nr:], zeroBias[:], false, min(nr, hd-p*nr))
			}
			continue
		}
		qh, ldqh := tileRows(q[h*hd:], ldq, rows, hd, ws.q)
		for p := 0; p*nr < keys; p++ {
			kern.tile(hd, qh, ldqh, kv.keys(h, p), ws.s[p*nr:], ws.stride, zeroBias[:], false, rows, min(nr, keys-p*nr))
		}
		for r := range rows {
			row := ws.s[r*ws.stride : r*ws.stride+keys]
			kern.softmax(row[:i0+r+1], scale)
			clear(row[i0+r+1:])
		}
		for p := 0; p*nr < hd; p++ {
			kern.tile(keys, ws.s, ws.stride, kv.values(h, p), y[h*hd+p*nr:], ldy, zeroBias[:], false, rows, min(nr, hd-p*nr))
		}
	}
}

// Session decodes incrementally with a key/value cache: each appended token
// costs one position's work instead of a forward pass over the whole prefix.
// A Session is not safe for concurrent use; make one per goroutine.
type Session struct {
	m      *Model
	n      int        // tokens in the cache
	kv     []*kvCache // per layer
	x      []float32  // residual stream
	h      []float32  // normalised input, then GELU output
	qkv    []float32
	y      []float32
	ff     []float32
	att    *attnScratch
	logits []float32
}

// NewSession returns an empty Session.
func (m *Model) NewSession() *Session {
	d, t := m.cfg.Dim, m.cfg.ContextLen
	hd := d / m.cfg.Heads
	s := &Session{
		m:      m,
		kv:     make([]*kvCache, len(m.blocks)),
		x:      make([]float32, d),
		h:      make([]float32, 4*d),
		qkv:    make([]float32, 3*d),
		y:      make([]float32, d),
		ff:     make([]float32, 4*d),
		att:    newAttnScratch(hd, t),
		logits: make([]float32, m.cfg.VocabSize),
	}
	for i := range m.blocks {
		s.kv[i] = newKVCache(m.cfg.Heads, hd, t)
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
	scale := attnScale(d / heads)
	h := s.h[:d]
	for li := range m.blocks {
		b := &m.blocks[li]
		active.layerNorm(h, x, b.ln1W, b.ln1B)
		b.attn.apply(s.qkv, h, 1, false, 1, nil)
		s.kv[li].put(pos, s.qkv[d:2*d], s.qkv[2*d:3*d])
		attendRows(s.y, d, s.qkv, 3*d, 1, pos, s.kv[li], scale, s.att)
		b.proj.apply(x, s.y, 1, true, 1, nil)
		active.layerNorm(h, x, b.ln2W, b.ln2B)
		b.fc.apply(s.ff, h, 1, false, 1, nil)
		active.gelu(s.h, s.ff)
		b.mlp.apply(x, s.h, 1, true, 1, nil)
	}
	s.n++
	if wantLogits {
		active.layerNorm(h, x, m.lnfW, m.lnfB)
		m.lmHead.apply(s.logits, h, 1, false, 1, nil)
	}
	return nil
}

// layerNorms applies LayerNorm to each of rows rows of x into dst (both with
// rows of len(w) values).
func layerNorms(dst, x []float32, rows int, w, b []float32) {
	d := len(w)
	for i := range rows {
		active.layerNorm(dst[i*d:(i+1)*d], x[i*d:(i+1)*d], w, b)
	}
}
