package tokenize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supplyline/supplyline/dataset"
)

func build(t *testing.T, dir string, evs []dataset.Event, cutoff time.Time, maxTokens int64) Manifest {
	t.Helper()
	m, err := Build(context.Background(), BuildConfig{Events: evs, OutDir: dir, Cutoff: cutoff, InputHash: "in123", MaxShardTokens: maxTokens})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildRoundTrip(t *testing.T) {
	evs := synthEvents(21, 3, 4, 40, 500)
	cutoff := testStart.AddDate(0, 0, 30)
	train, val, _, err := Render(evs, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	// The shards hold exactly Render's documents, in build order.
	train, val = sortBuildOrder(train), sortBuildOrder(val)
	for _, tc := range []struct {
		name      string
		maxTokens int64
		minShards int
	}{{"one shard per split", 0, 1}, {"rotating shards", 2000, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := build(t, dir, evs, cutoff, tc.maxTokens)
			if len(m.Train) < tc.minShards || len(m.Val) < 1 {
				t.Fatalf("%d train, %d val shards", len(m.Train), len(m.Val))
			}
			for _, sh := range m.Train {
				if tc.maxTokens > 0 && sh.Tokens > tc.maxTokens {
					t.Fatalf("%s holds %d tokens, max %d", sh.Bin, sh.Tokens, tc.maxTokens)
				}
			}
			if m.DType != "uint16" || m.InputHash != "in123" || !m.Cutoff.Equal(cutoff) || m.VocabSize > 512 {
				t.Fatalf("manifest %+v", m)
			}
			s, err := OpenShards(filepath.Join(dir, ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if s.Manifest.Special[DocStart] != tok.VocabSize()-2 || s.Manifest.Special[DocEnd] != tok.VocabSize()-1 {
				t.Fatalf("special ids %v, vocab %d", s.Manifest.Special, tok.VocabSize())
			}
			for _, c := range []struct {
				split string
				docs  []Document
			}{{SplitTrain, train}, {SplitVal, val}} {
				sp, err := s.Split(c.split)
				if err != nil {
					t.Fatal(err)
				}
				if sp.Docs() != len(c.docs) || m.Docs[c.split] != int64(len(c.docs)) {
					t.Fatalf("%s: %d docs, manifest %d, rendered %d", c.split, sp.Docs(), m.Docs[c.split], len(c.docs))
				}
				var nbytes, nevents int64
				for i, d := range c.docs {
					ids := make([]int, 0, len(sp.Doc(i)))
					for _, id := range sp.Doc(i) {
						ids = append(ids, int(id))
					}
					if got := tok.Decode(ids); got != DocStart+d.Text+DocEnd {
						t.Fatalf("%s doc %d decodes to %q, want %q", c.split, i, got, d.Text)
					}
					nbytes += int64(len(d.Text))
					nevents += int64(d.Events)
				}
				if m.Bytes[c.split] != nbytes || m.Events[c.split] != nevents {
					t.Fatalf("%s: bytes %d events %d, manifest %d %d", c.split, nbytes, nevents, m.Bytes[c.split], m.Events[c.split])
				}
			}
		})
	}
}

func TestBuildDeterministic(t *testing.T) {
	evs := synthEvents(4, 2, 3, 30, 300)
	cutoff := testStart.AddDate(0, 0, 20)
	a, b := t.TempDir(), t.TempDir()
	build(t, a, evs, cutoff, 3000)
	// Reverse the input: the output must not depend on event order.
	rev := make([]dataset.Event, len(evs))
	for i, e := range evs {
		rev[len(evs)-1-i] = e
	}
	build(t, b, rev, cutoff, 3000)
	entries, _ := os.ReadDir(a)
	if len(entries) < 7 {
		t.Fatalf("only %d files", len(entries))
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			x, _ := os.ReadFile(filepath.Join(a, e.Name()))
			y, err := os.ReadFile(filepath.Join(b, e.Name()))
			if err != nil || !bytes.Equal(x, y) {
				t.Fatalf("differs between builds (%v)", err)
			}
		})
	}
}

func TestOpenShardsRefuses(t *testing.T) {
	evs := synthEvents(8, 2, 3, 30, 200)
	cutoff := testStart.AddDate(0, 0, 20)
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		is     error
		names  string // a file the error message must name
	}{
		{"flipped byte in a .bin", func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, "val-00000.bin"), 7)
		}, ErrChecksum, "val-00000.bin"},
		{"flipped byte in an .idx", func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, "train-00000.idx"), 9)
		}, ErrChecksum, "train-00000.idx"},
		{"tokenizer swapped after writing", func(t *testing.T, dir string) {
			merges, err := Train(func(yield func(string) bool) { yield("something else entirely, else else") }, TrainConfig{VocabSize: 300})
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteTokenizer(dir, merges); err != nil {
				t.Fatal(err)
			}
		}, ErrTokenizerMismatch, "vocab.json"},
		{"truncated .bin with a matching hash", func(t *testing.T, dir string) {
			rewriteShard(t, dir, func(bin []byte) []byte { return bin[:len(bin)-2] })
		}, ErrShardFormat, "train-00000.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			build(t, dir, evs, cutoff, 0)
			if _, err := OpenShards(dir); err != nil {
				t.Fatalf("intact shards refused: %v", err)
			}
			tt.damage(t, dir)
			_, err := OpenShards(dir)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Fatalf("error does not name %s: %v", tt.names, err)
			}
			var ce *ChecksumError
			var te *TokenizerMismatchError
			if errors.As(err, &ce) != (tt.is == ErrChecksum) || errors.As(err, &te) != (tt.is == ErrTokenizerMismatch) {
				t.Fatalf("wrong error type %T", err)
			}
		})
	}
}

func flip(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteShard changes train-00000.bin and fixes up the manifest's hash, so
// that only the layout checks can catch it.
func rewriteShard(t *testing.T, dir string, f func([]byte) []byte) {
	t.Helper()
	bin := filepath.Join(dir, "train-00000.bin")
	b, _ := os.ReadFile(bin)
	os.WriteFile(bin, f(b), 0o644)
	m, _, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "train-00000.idx"))
	m.Train[0].SHA256 = sha256Hex(append(f(b), idx...))
	writeManifest(t, dir, m)
}

func TestCutoffRespected(t *testing.T) {
	// Train days carry demand below 50, val days demand 900+: any "dem=9"
	// prefix in train text or any train line on a val weekday is a leak.
	var evs []dataset.Event
	cutoff := testStart.AddDate(0, 0, 5).Add(12 * time.Hour) // Saturday noon
	for d := 0; d < 10; d++ {
		dem := "7"
		if d >= 5 {
			dem = "9" + strings.Repeat("1", 2)
		}
		e := snap(d, 23, "4", "0", dem, "0")
		e.EventID = "s" + string(rune('0'+d))
		evs = append(evs, e)
	}
	evs = append(evs, journey("O9", "order_placed", 24*4, "shipped", 24*5+11, "delivered", 24*5+13)...)
	dir := t.TempDir()
	m := build(t, dir, evs, cutoff, 0)
	s, err := OpenShards(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := Load(dir)
	text := func(split string) string {
		sp, _ := s.Split(split)
		ids := make([]int, len(sp.Tokens))
		for i, id := range sp.Tokens {
			ids[i] = int(id)
		}
		return tok.Decode(ids)
	}
	train, val := text(SplitTrain), text(SplitVal)
	for _, leak := range []string{"dem=911", "w=5", "w=6", "delivered"} {
		if strings.Contains(train, leak) {
			t.Errorf("train text holds %q from after the cutoff:\n%s", leak, train)
		}
	}
	for _, want := range []string{"dem=911", "w=5", "delivered d=1"} {
		if !strings.Contains(val, want) {
			t.Errorf("val text lacks %q:\n%s", want, val)
		}
	}
	if !strings.Contains(train, "shipped d=1") || strings.Contains(val, "shipped") {
		t.Errorf("shipped (before the cutoff) belongs to train only")
	}
	if m.Events[SplitTrain] != 7 || m.Events[SplitVal] != 6 {
		t.Errorf("events per split %v, want 7 (5 days, placed, shipped) and 6 (5 days, delivered)", m.Events)
	}
	t.Run("tokenizer sees train text only", func(t *testing.T) {
		// "911" only occurs after the cutoff; no merge may contain "91".
		mb, _ := os.ReadFile(filepath.Join(dir, MergesFile))
		for _, line := range strings.Split(string(mb), "\n")[1:] {
			if strings.ReplaceAll(line, " ", "") == "91" || strings.Contains(strings.ReplaceAll(line, " ", ""), "91") {
				t.Fatalf("merge %q learned from val text", line)
			}
		}
	})
}

func TestBuildConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  BuildConfig
	}{
		{"no out dir", BuildConfig{Cutoff: testStart}},
		{"no cutoff", BuildConfig{OutDir: "x"}},
		{"vocab too small", BuildConfig{OutDir: "x", Cutoff: testStart, VocabSize: 100}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(context.Background(), tt.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func writeManifest(t *testing.T, dir string, m Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
