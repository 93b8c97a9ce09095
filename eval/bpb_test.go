package eval

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

// timelines renders n inventory documents the way the synthetic world does,
// with base-stock decisions.
func timelines(n int, seed int64) []string {
	var docs []string
	for i := 0; i < n; i++ {
		task := ReplenishTask{Demand: dataset.DemandProcess{Base: float64(2 + i%5), WeeklyAmp: 0.3}, LeadTime: 1 + i%3, Days: 12 + 7*(i%4), Seed: seed + int64(i)}.WithDefaults()
		ep := task.simulate(BaseStock{S: 4 * (2 + i%5)}, task.demandPaths(1, evalStream)[0])
		var b strings.Builder
		b.WriteString(tokenize.DocStart)
		b.WriteString(tokenize.FormatHeader(tokenize.InventoryHeader{Location: fmt.Sprintf("S%02d", i), SKU: fmt.Sprintf("P%02d", i%3), LeadTime: task.LeadTime}))
		for _, d := range ep.days {
			b.WriteString(tokenize.FormatDay(d))
		}
		b.WriteString(tokenize.DocEnd)
		docs = append(docs, b.String())
	}
	return docs
}

// writeShards writes a shard directory in tokenize's layout: uint16 ids,
// one shard per entry of trainShards and valShards, dummy tokenizer files
// and a manifest with correct checksums.
func writeShards(t testing.TB, dir string, tok *charTokenizer, trainShards, valShards [][]string) tokenize.Manifest {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"a":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash, err := tokenize.TokenizerHashOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := tokenize.Manifest{
		Version: tokenize.ManifestVersion, DType: "uint16", VocabSize: tok.VocabSize(), TokenizerHash: hash,
		Cutoff:  time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Special: map[string]int{tokenize.DocStart: tok.VocabSize() - 2, tokenize.DocEnd: tok.VocabSize() - 1},
		Bytes:   map[string]int64{}, Docs: map[string]int64{},
	}
	write := func(split string, i int, docs []string) tokenize.ShardInfo {
		var bin, idx []byte
		var n uint64
		idx = binary.LittleEndian.AppendUint64(idx, 0)
		for _, d := range docs {
			for _, id := range tok.Encode(d) {
				bin = binary.LittleEndian.AppendUint16(bin, uint16(id))
				n++
			}
			idx = binary.LittleEndian.AppendUint64(idx, n)
			text := strings.ReplaceAll(strings.ReplaceAll(d, tokenize.DocStart, ""), tokenize.DocEnd, "")
			m.Bytes[split] += int64(len(text))
			m.Docs[split]++
		}
		info := tokenize.ShardInfo{Bin: fmt.Sprintf("%s-%05d.bin", split, i), Idx: fmt.Sprintf("%s-%05d.idx", split, i), Tokens: int64(n), Docs: int64(len(docs))}
		h := sha256.New()
		h.Write(bin)
		h.Write(idx)
		info.SHA256 = hex.EncodeToString(h.Sum(nil))
		if err := os.WriteFile(filepath.Join(dir, info.Bin), bin, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, info.Idx), idx, 0o644); err != nil {
			t.Fatal(err)
		}
		return info
	}
	for i, docs := range trainShards {
		m.Train = append(m.Train, write("train", i, docs))
	}
	for i, docs := range valShards {
		m.Val = append(m.Val, write("val", i, docs))
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tokenize.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// uniformModel gives every token the same logit; it panics on windows
// longer than its context, as *Model does.
type uniformModel struct {
	vocab, ctxLen int
	windows       int
}

func (u *uniformModel) Logits(ids []int) [][]float32 {
	if len(ids) > u.ctxLen {
		panic(fmt.Sprintf("window of %d tokens, context %d", len(ids), u.ctxLen))
	}
	u.windows++
	out := make([][]float32, len(ids))
	for i := range out {
		out[i] = make([]float32, u.vocab)
	}
	return out
}
func (u *uniformModel) VocabSize() int  { return u.vocab }
func (u *uniformModel) ContextLen() int { return u.ctxLen }

func TestHeldOutUniform(t *testing.T) {
	tok := newCharTokenizer()
	dir := t.TempDir()
	train, val := timelines(6, 1), timelines(5, 100)
	m := writeShards(t, dir, tok, [][]string{train[:3], train[3:]}, [][]string{val[:2], val[2:]})
	var wantTokens int64
	for _, d := range val {
		wantTokens += int64(len(tok.Encode(d)) - 1)
	}
	for _, tc := range []struct {
		name   string
		ctxLen int
		opts   HeldOutOptions
	}{
		{"whole-docs", 4096, HeldOutOptions{MaxTokens: -1}},
		{"windows", 64, HeldOutOptions{MaxTokens: -1}},
		{"windows-stride-1", 32, HeldOutOptions{MaxTokens: -1, Stride: 1}},
		{"capped", 64, HeldOutOptions{MaxTokens: 777}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := &uniformModel{vocab: tok.VocabSize(), ctxLen: tc.ctxLen}
			h, err := HeldOutBPB(context.Background(), model, tok, dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := math.Log2(float64(tok.VocabSize())) * float64(h.Tokens) / float64(h.Bytes)
			if math.Abs(h.BitsPerByte-want) > 1e-9 {
				t.Errorf("uniform model: %.12f bits per byte, want log2(V)*tokens/bytes = %.12f", h.BitsPerByte, want)
			}
			if tc.opts.MaxTokens < 0 {
				if h.Tokens != wantTokens || h.Bytes != m.Bytes["val"] || h.Docs != int64(len(val)) {
					t.Errorf("scored %d tokens, %d bytes, %d docs; want every target once: %d, %d, %d",
						h.Tokens, h.Bytes, h.Docs, wantTokens, m.Bytes["val"], len(val))
				}
			} else if h.Tokens != int64(tc.opts.MaxTokens) {
				t.Errorf("scored %d tokens, want the cap %d", h.Tokens, tc.opts.MaxTokens)
			}
			// The unigram baseline, counted here independently.
			counts := make([]float64, tok.VocabSize())
			var total float64
			for _, d := range train {
				for _, id := range tok.Encode(d) {
					counts[id]++
					total++
				}
			}
			var bits float64
			left := h.Tokens
			for _, d := range val {
				ids := tok.Encode(d)
				for _, id := range ids[1:] {
					if left == 0 {
						break
					}
					bits -= math.Log2((counts[id] + 1) / (total + float64(tok.VocabSize())))
					left--
				}
			}
			if want := bits / float64(h.Bytes); math.Abs(h.UnigramBitsPerByte-want) > 1e-9 {
				t.Errorf("unigram %.12f bits per byte, want %.12f", h.UnigramBitsPerByte, want)
			}
			if h.UnigramBitsPerByte >= h.BitsPerByte {
				t.Errorf("unigram %.3f is not below uniform %.3f", h.UnigramBitsPerByte, h.BitsPerByte)
			}
		})
	}
}

func TestHeldOutWindowsMatchWholeDocs(t *testing.T) {
	// A real model scores the same targets whichever way the windows fall
	// when every window holds the whole document so far; with shorter
	// contexts the loss may only differ by the context lost.
	tok := newCharTokenizer()
	dir := t.TempDir()
	writeShards(t, dir, tok, [][]string{timelines(2, 1)}, [][]string{timelines(2, 50)})
	m := randomModel(t, testModelConfig(tok.VocabSize(), 64), 8)
	a, err := HeldOutBPB(context.Background(), m, tok, dir, HeldOutOptions{MaxTokens: 63})
	if err != nil {
		t.Fatal(err)
	}
	b, err := HeldOutBPB(context.Background(), m, tok, dir, HeldOutOptions{MaxTokens: 63, Stride: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens != 63 || math.Abs(a.BitsPerByte-b.BitsPerByte) > 1e-9 {
		t.Errorf("first window: %+v vs %+v", a, b)
	}
	if _, err := HeldOutBPB(context.Background(), m, tok, dir, HeldOutOptions{MaxTokens: -1}); err != nil {
		t.Fatal(err)
	}
}

func TestHeldOutRefusesBadShards(t *testing.T) {
	tok := newCharTokenizer()
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
		also  error // a tokenize error the refusal must wrap too, if any
	}{
		{"checksum", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "val-00000.bin")
			b, _ := os.ReadFile(p)
			b[10] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, tokenize.ErrChecksum},
		{"missing-idx", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "val-00000.idx")); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist},
		{"vocab", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *tokenize.Manifest) { m.VocabSize++ })
		}, nil},
		{"token-count", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *tokenize.Manifest) { m.Val[0].Tokens-- })
		}, tokenize.ErrShardFormat},
		{"tokenizer-files", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\na b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, tokenize.ErrTokenizerMismatch},
		{"corrupt-train", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "train-00000.bin")
			b, _ := os.ReadFile(p)
			b[10] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, tokenize.ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeShards(t, dir, tok, [][]string{timelines(1, 1)}, [][]string{timelines(1, 2)})
			tc.spoil(t, dir)
			_, err := HeldOutBPB(context.Background(), &uniformModel{vocab: tok.VocabSize(), ctxLen: 64}, tok, dir, HeldOutOptions{})
			if !errors.Is(err, ErrBadShard) {
				t.Errorf("got %v, want ErrBadShard", err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("got %v, want it to wrap %v", err, tc.also)
			}
		})
	}
}

func editManifest(t *testing.T, dir string, edit func(*tokenize.Manifest)) {
	t.Helper()
	m, _, err := tokenize.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tokenize.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHeldOutBigram checks the bigram baseline against counts made here and
// that, on the structured timelines, it needs fewer bits than the unigram.
func TestHeldOutBigram(t *testing.T) {
	tok := newCharTokenizer()
	dir := t.TempDir()
	train, val := timelines(6, 1), timelines(4, 100)
	writeShards(t, dir, tok, [][]string{train}, [][]string{val})
	h, err := HeldOutBPB(context.Background(), &uniformModel{vocab: tok.VocabSize(), ctxLen: 4096}, tok, dir, HeldOutOptions{MaxTokens: -1})
	if err != nil {
		t.Fatal(err)
	}
	V := float64(tok.VocabSize())
	pairs, rows := map[[2]int]float64{}, map[int]float64{}
	for _, d := range train {
		ids := tok.Encode(d)
		for i := 1; i < len(ids); i++ {
			pairs[[2]int{ids[i-1], ids[i]}]++
			rows[ids[i-1]]++
		}
	}
	var bits float64
	for _, d := range val {
		ids := tok.Encode(d)
		for i := 1; i < len(ids); i++ {
			bits -= math.Log2((pairs[[2]int{ids[i-1], ids[i]}] + 1) / (rows[ids[i-1]] + V))
		}
	}
	if want := bits / float64(h.Bytes); math.Abs(h.BigramBitsPerByte-want) > 1e-9 {
		t.Errorf("bigram %.12f bits per byte, want %.12f", h.BigramBitsPerByte, want)
	}
	if !(h.BigramBitsPerByte < h.UnigramBitsPerByte && h.UnigramBitsPerByte < h.BitsPerByte) {
		t.Errorf("want bigram < unigram < uniform bits per byte: %.4f, %.4f, %.4f", h.BigramBitsPerByte, h.UnigramBitsPerByte, h.BitsPerByte)
	}
	if !(h.BigramTop1Accuracy > h.UnigramTop1Accuracy && h.BigramPerplexity < h.UnigramPerplexity) {
		t.Errorf("bigram top-1 %.3f (perplexity %.2f), unigram %.3f (%.2f)", h.BigramTop1Accuracy, h.BigramPerplexity, h.UnigramTop1Accuracy, h.UnigramPerplexity)
	}
	if math.Abs(h.Perplexity-V) > 1e-6 || math.Abs(h.Loss-math.Log(V)) > 1e-9 {
		t.Errorf("uniform model: perplexity %.6f, loss %.6f; want V = %g", h.Perplexity, h.Loss, V)
	}
}
