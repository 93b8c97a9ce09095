package eval

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/supplyline/supplyline/train"
)

const python = "/usr/bin/python3"

// requireTorch skips the test when PyTorch is not installed, unless CI is
// set: there a missing torch is a broken environment and the test fails.
func requireTorch(t testing.TB) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import torch, numpy").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("PyTorch is not available at %s (%v): %s", python, err, out)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + "; set CI to make this a failure")
}

// pyCheckpoint runs testdata/parity.py into a fresh directory and returns it.
func pyCheckpoint(t testing.TB, args ...string) string {
	t.Helper()
	requireTorch(t)
	dir := t.TempDir()
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "parity.py"), "--out", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parity.py: %v\n%s", err, out)
	}
	return dir
}

func TestParity(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"one-head-three-layers", []string{"--seed", "7", "--vocab", "50", "--context", "20", "--layers", "3", "--heads", "1", "--dim", "16"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := pyCheckpoint(t, tc.args...)
			m, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				IDs    []int       `json:"ids"`
				Logits [][]float64 `json:"logits"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "logits.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := m.Logits(want.IDs)
			if len(got) != len(want.Logits) {
				t.Fatalf("%d positions, want %d", len(got), len(want.Logits))
			}
			var maxDiff, maxAbs float64
			for i := range got {
				if len(got[i]) != len(want.Logits[i]) {
					t.Fatalf("position %d: %d logits, want %d", i, len(got[i]), len(want.Logits[i]))
				}
				for j := range got[i] {
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[i][j])-want.Logits[i][j]))
					maxAbs = math.Max(maxAbs, math.Abs(want.Logits[i][j]))
				}
			}
			t.Logf("max |Go - PyTorch| = %.3g over %d positions x %d vocab (max |logit| %.3g)", maxDiff, len(got), m.VocabSize(), maxAbs)
			if maxDiff > 1e-4 {
				t.Errorf("max |Go - PyTorch| = %g, want <= 1e-4", maxDiff)
			}
			if maxAbs < 1 {
				t.Errorf("logits are all below 1 in magnitude; the perturbation is too weak to test anything")
			}
		})
	}
}

// randomTensors returns contract tensors for cfg with random values.
func randomTensors(cfg train.ModelConfig, seed uint64) map[string]train.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	shapes := ContractShapes(cfg)
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]train.Tensor{}
	for _, n := range names {
		shape := shapes[n]
		count := 1
		for _, d := range shape {
			count *= d
		}
		data := make([]float32, count)
		for i := range data {
			data[i] = float32(0.3 * rng.NormFloat64())
		}
		out[n] = train.Tensor{Shape: shape, Data: data}
	}
	return out
}

func randomModel(t testing.TB, cfg train.ModelConfig, seed uint64) *Model {
	t.Helper()
	cfg = cfg.WithDefaults()
	m, err := newModel(cfg, randomTensors(cfg, seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeSafetensors writes tensors in the trainer's layout (sorted names).
func writeSafetensors(t testing.TB, path string, tensors map[string]train.Tensor) {
	t.Helper()
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	var data []byte
	for _, n := range names {
		tt := tensors[n]
		begin := len(data)
		for _, v := range tt.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		header[n] = map[string]any{"dtype": "F32", "shape": tt.Shape, "data_offsets": []int{begin, len(data)}}
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	out = append(append(out, hdr...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeCheckpoint(t testing.TB, dir string, cfg train.ModelConfig, step int, tensors map[string]train.Tensor) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(train.State{Step: step, Model: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, train.StateFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, filepath.Join(dir, train.ModelFile), tensors)
}

func TestLoadModelContract(t *testing.T) {
	cfg := train.ModelConfig{VocabSize: 11, ContextLen: 8, Layers: 2, Heads: 2, Dim: 8}
	cases := []struct {
		name   string
		edit   func(map[string]train.Tensor)
		tensor string // the tensor the error must name; "" means no error
	}{
		{"complete", func(map[string]train.Tensor) {}, ""},
		{"missing", func(m map[string]train.Tensor) { delete(m, "h.1.mlp.c_fc.bias") }, "h.1.mlp.c_fc.bias"},
		{"wrong-shape", func(m map[string]train.Tensor) {
			m["h.0.attn.c_attn.weight"] = train.Tensor{Shape: []int{8, 24}, Data: make([]float32, 192)}
		}, "h.0.attn.c_attn.weight"},
		{"unexpected", func(m map[string]train.Tensor) {
			m["lm_head.weight"] = train.Tensor{Shape: []int{11, 8}, Data: make([]float32, 88)}
		}, "lm_head.weight"},
		{"extra-layer", func(m map[string]train.Tensor) {
			m["h.2.ln_1.bias"] = train.Tensor{Shape: []int{8}, Data: make([]float32, 8)}
		}, "h.2.ln_1.bias"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tensors := randomTensors(cfg, 3)
			tc.edit(tensors)
			dir := t.TempDir()
			writeCheckpoint(t, dir, cfg, 5, tensors)
			m, err := LoadModel(dir)
			if tc.tensor == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.Step() != 5 || m.VocabSize() != 11 || m.ContextLen() != 8 {
					t.Errorf("step %d vocab %d context %d", m.Step(), m.VocabSize(), m.ContextLen())
				}
				return
			}
			var te *TensorError
			if !errors.As(err, &te) || te.Name != tc.tensor {
				t.Fatalf("error %v, want a TensorError naming %q", err, tc.tensor)
			}
			if !errors.Is(err, ErrBadModel) {
				t.Errorf("error %v is not ErrBadModel", err)
			}
		})
	}
}

func TestLoadModelLatest(t *testing.T) {
	cfg := train.ModelConfig{VocabSize: 11, ContextLen: 8, Layers: 1, Heads: 2, Dim: 8}
	root := t.TempDir()
	writeCheckpoint(t, filepath.Join(root, train.CheckpointName(40)), cfg, 40, randomTensors(cfg, 1))
	if err := os.WriteFile(filepath.Join(root, train.LatestFile), []byte(train.CheckpointName(40)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(root)
	if err != nil {
		t.Fatal(err)
	}
	if m.Step() != 40 {
		t.Errorf("step %d, want 40", m.Step())
	}
	if _, err := LoadModel(t.TempDir()); !errors.Is(err, train.ErrBadCheckpoint) {
		t.Errorf("empty dir: %v, want ErrBadCheckpoint", err)
	}
}

func TestSessionMatchesLogits(t *testing.T) {
	m := randomModel(t, train.ModelConfig{VocabSize: 23, ContextLen: 16, Layers: 2, Heads: 4, Dim: 16}, 9)
	ids := []int{1, 5, 22, 0, 7, 7, 3, 19, 2, 11, 4, 8}
	full := m.Logits(ids)
	s := m.NewSession()
	// Feed a prefix, rewind part of it, feed a different token, then rewind
	// again and take the true path: the cache must forget what was dropped.
	if _, err := s.Append(ids[:6]...); err != nil {
		t.Fatal(err)
	}
	s.Truncate(3)
	if _, err := s.Append(9, 9); err != nil {
		t.Fatal(err)
	}
	s.Truncate(3)
	for i := 3; i < len(ids); i++ {
		got, err := s.Append(ids[i])
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if got[j] != full[i][j] { // the same kernels, the same sums
				t.Fatalf("position %d token %d: session %g, full %g", i, j, got[j], full[i][j])
			}
		}
	}
	if s.Len() != len(ids) {
		t.Errorf("Len %d, want %d", s.Len(), len(ids))
	}
}

func TestSessionErrors(t *testing.T) {
	m := randomModel(t, train.ModelConfig{VocabSize: 5, ContextLen: 3, Layers: 1, Heads: 1, Dim: 4}, 2)
	s := m.NewSession()
	if _, err := s.Append(5); !errors.Is(err, ErrTokenRange) {
		t.Errorf("id 5 of 5: %v, want ErrTokenRange", err)
	}
	if _, err := s.Append(1, 2, 3, 4); !errors.Is(err, ErrContextFull) {
		t.Errorf("4 tokens into 3: %v, want ErrContextFull", err)
	}
	if s.Len() != 3 {
		t.Errorf("Len %d after overflow, want 3", s.Len())
	}
}

func BenchmarkLogits(b *testing.B) {
	cfg := train.ModelConfig{VocabSize: 2048, ContextLen: 128, Layers: 2, Heads: 4, Dim: 64}
	m := randomModel(b, cfg, 1)
	ids := make([]int, cfg.ContextLen)
	for i := range ids {
		ids[i] = (i * 37) % cfg.VocabSize
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m.Logits(ids)
	}
	b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkSessionPrompt(b *testing.B) {
	cfg := train.ModelConfig{VocabSize: 2048, ContextLen: 128, Layers: 2, Heads: 4, Dim: 64}
	m := randomModel(b, cfg, 1)
	ids := make([]int, cfg.ContextLen)
	for i := range ids {
		ids[i] = (i * 37) % cfg.VocabSize
	}
	s := m.NewSession()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Truncate(0)
		if _, err := s.Append(ids...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "tokens/s")
}

// testModelConfig is a small model shape for vocab and context.
func testModelConfig(vocab, ctxLen int) train.ModelConfig {
	return train.ModelConfig{VocabSize: vocab, ContextLen: ctxLen, Layers: 2, Heads: 2, Dim: 16}
}
