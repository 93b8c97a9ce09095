package tokenize

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	sugar "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/model/bpe"
	"github.com/sugarme/tokenizer/pretokenizer"
)

// trainedTokenizer renders a synthetic world, trains a vocabulary of size
// vocab on its train documents and loads it. It returns the tokenizer
// directory and all documents (train then val).
func trainedTokenizer(t testing.TB, vocab int) (string, []Document) {
	t.Helper()
	train, val, _, err := Render(synthEvents(11, 4, 6, 60, 2000), testStart.AddDate(0, 0, 45))
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(train))
	for i, d := range train {
		texts[i] = d.Text
	}
	merges, err := Train(slices.Values(texts), TrainConfig{VocabSize: vocab})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTokenizer(dir, merges); err != nil {
		t.Fatal(err)
	}
	return dir, append(train, val...)
}

// sugarmeTokenizer loads dir with sugarme/tokenizer v0.3.0 configured as our
// encoder is: BPE model, ByteLevel pre-tokenizer without prefix space,
// ByteLevel decoder.
func sugarmeTokenizer(t testing.TB, dir string) *sugar.Tokenizer {
	t.Helper()
	model, err := bpe.NewBpeFromFiles(filepath.Join(dir, VocabFile), filepath.Join(dir, MergesFile))
	if err != nil {
		t.Fatal(err)
	}
	tk := sugar.NewTokenizer(model)
	bl := pretokenizer.NewByteLevel()
	bl.SetAddPrefixSpace(false)
	tk.WithPreTokenizer(bl)
	tk.WithDecoder(bl)
	return tk
}

// oddTexts exercise the pre-tokenizer's corners.
var oddTexts = []string{
	"",
	"w=3 oh=12 pipe=6 dem=5 lost=0 ord=",
	"  two  spaces and trailing \n\n\t tab ",
	"it's they're we've I'm we'll he'd 'S x''s",
	"ord loc=RJ promised=5 carrier=C1\nplaced d=0\ndelivered d=12345678\n",
	"punct!!! ... --- === (a,b) [c] {d} ~`@#$%^&*_+|\\/?<>",
	"\x00\x01\x7f\v\f\r\n",
}

// edgeTexts are valid UTF-8 (so HF can take them too): whitespace runs,
// tabs, CRLF, Unicode whitespace, letters and digits, long digit runs, and
// special tokens inside text. parityTokenizer trains on them, so that merges
// across the places where the splits differ exist.
var edgeTexts = []string{
	"a\n\nb", "a\n\n\n\nb", "a  b", "a   b", "a    \n\n  b", "trailing  ", "trailing \n\n",
	"\t\tx\t\t\ty", "col1\tcol2\t\tcol3", "line\r\nline\r\n\r\nend\r\n", "\r\r\n\n",
	"0000000000", "000", "0000", "00000", "1000000 2000000000 0.000001 -00", "d=0000000000\n",
	"café naïve Ærøskøbing ß ½ ² ٣ 中文字 日本語 한국어 € 😀👍🏽 🇩🇪", "\u00a0\u00a0x !\u00a0\u00a0! \u00a0", "x\u2028y\u2029z \u3000w\u0085v\u200bu",
	"\x00\x01\x1c\x1f\x7f\v\f", "it's it''s IT'S 'll 're'", "  \n  \n\t \t",
	DocStart + "w=3 oh=12" + DocEnd, "a" + DocStart + "b" + DocEnd + "c", DocStart + DocStart + DocEnd,
	"  " + DocEnd + "  ", "x " + DocStart + " y", "<|doc|", "<|doc|<|end|>", "<|unknown|> <|", "0000" + DocEnd + "0000",
}

// parityTokenizer trains a 1024-symbol vocabulary on rendered documents and
// edgeTexts (several times each, so their pairs are worth merges) and
// returns its directory and the documents.
func parityTokenizer(t testing.TB) (string, []Document) {
	t.Helper()
	train, val, _, err := Render(synthEvents(11, 4, 6, 60, 2000), testStart.AddDate(0, 0, 45))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for range 4 {
		texts = append(texts, edgeTexts...)
		texts = append(texts, oddTexts...)
	}
	for _, d := range train {
		texts = append(texts, d.Text)
	}
	merges, err := Train(slices.Values(texts), TrainConfig{VocabSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTokenizer(dir, merges); err != nil {
		t.Fatal(err)
	}
	return dir, append(train, val...)
}

// encodeWords is our BPE over a given split: with sugarmeWords it isolates
// BPE from pre-tokenization when comparing with sugarme.
func encodeWords(tok *Tokenizer, ws []string) []int {
	var ids []int
	for _, w := range ws {
		ids = tok.bpe(ids, w)
	}
	return ids
}

// rankTie reports whether BPE of w, at some step, finds the pair it merges
// next at more than one place. Only there can sugarme v0.3.0 differ from
// HF: its Word.MergeAll orders the heap by rank alone (Merge.Time is never
// set), so equal-rank merges pop in heap order rather than leftmost first;
// with overlapping occurrences (a run "x x x" of one symbol and the merge
// x+x) the result differs.
func rankTie(tok *Tokenizer, w string) bool {
	sym := make([]int, len(w))
	for i := range len(w) {
		sym[i] = tok.byteID[w[i]]
	}
	for len(sym) > 1 {
		best, bestRank, bestID, n := -1, int(^uint(0)>>1), 0, 0
		for k := 0; k+1 < len(sym); k++ {
			if m, ok := tok.merges[pairKey(sym[k], sym[k+1])]; ok {
				switch {
				case m.rank < bestRank:
					best, bestRank, bestID, n = k, m.rank, m.id, 1
				case m.rank == bestRank:
					n++
				}
			}
		}
		if best < 0 {
			return false
		}
		if n > 1 {
			return true
		}
		sym[best] = bestID
		sym = slices.Delete(sym, best+1, best+2)
	}
	return false
}

// sugarmeCheck compares our ids for text (valid UTF-8 without special
// tokens) with sugarme's. BPE is compared on sugarme's own split, where a
// difference is allowed only in a word with a rank tie; Encode is compared
// whole when the splits agree too. It returns whether Encode was compared
// whole, and whether a tie difference or a split difference stopped it.
func sugarmeCheck(t testing.TB, tok *Tokenizer, sg *sugar.Tokenizer, text string) (whole, tie, split bool) {
	t.Helper()
	sw := sugarmeWords(text)
	en, err := sg.EncodeSingle(text, false)
	if err != nil {
		t.Fatalf("sugarme: %v", err)
	}
	want := en.Ids
	if got := encodeWords(tok, sw); !slices.Equal(got, want) {
		if slices.ContainsFunc(sw, func(w string) bool { return rankTie(tok, w) }) {
			return false, true, false
		}
		t.Fatalf("%q: BPE on sugarme's split, no rank tie:\n ours    %v\n sugarme %v", text, got, want)
	}
	if !slices.Equal(words(text), sw) {
		return false, false, true
	}
	got := tok.Encode(text)
	if !slices.Equal(got, want) {
		t.Fatalf("%q:\n ours    %v\n sugarme %v", text, got, want)
	}
	if back := sg.Decode(got, false); back != text {
		t.Fatalf("sugarme decodes our ids of %q to %q", text, back)
	}
	return true, false, false
}

func TestSugarmeParity(t *testing.T) {
	type tk struct {
		name string
		dir  string
		docs []Document
	}
	var tks []tk
	for _, vocab := range []int{300, 512, 1024} {
		dir, docs := trainedTokenizer(t, vocab)
		tks = append(tks, tk{"docs" + strconv.Itoa(vocab), dir, docs})
	}
	dir, docs := parityTokenizer(t)
	tks = append(tks, tk{"edges1024", dir, docs})
	for _, c := range tks {
		t.Run(c.name, func(t *testing.T) {
			ours, err := Load(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			theirs := sugarmeTokenizer(t, c.dir)
			var texts []string
			for _, x := range append(slices.Clone(oddTexts), edgeTexts...) {
				if s, _ := findSpecial(x); s < 0 {
					texts = append(texts, x)
				}
			}
			for _, d := range c.docs {
				texts = append(texts, d.Text)
			}
			var whole, ties, splits int
			for _, text := range texts {
				w, tie, split := sugarmeCheck(t, ours, theirs, text)
				whole += b2i(w)
				ties += b2i(tie)
				splits += b2i(split)
			}
			if whole < len(c.docs) {
				t.Fatalf("only %d of %d texts compared whole (%d docs)", whole, len(texts), len(c.docs))
			}
			t.Logf("%d texts: %d identical ids, %d BPE-identical on sugarme's split (splits differ), %d differ in a rank tie", len(texts), whole, splits, ties)
		})
	}
	// The two documented differences, pinned on both sides.
	t.Run("equal ranks merge leftmost", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteTokenizer(dir, []Merge{{"0", "0"}, {"00", "0"}}); err != nil {
			t.Fatal(err)
		}
		ours, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		sg := sugarmeTokenizer(t, dir)
		const zz, zzz = 256, 257
		differs := 0
		for _, c := range []struct {
			text string
			want []int
		}{
			{"000", []int{zzz}},       // 0 0|0 -> 00 0 -> 000
			{"0000", []int{zz, zz}},   // both (0,0) merge before (00,0)
			{"00000", []int{zz, zzz}}, // 00 00 0 -> 00 000
			{"0000000000", []int{zz, zz, zz, zz, zz}},
		} {
			got := ours.Encode(c.text)
			if !slices.Equal(got, c.want) {
				t.Errorf("%q: %v, want %v", c.text, got, c.want)
			}
			if !rankTie(ours, c.text) {
				t.Errorf("%q: rankTie false", c.text)
			}
			en, err := sg.EncodeSingle(c.text, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(en.Ids, got) {
				differs++
				t.Logf("%q: ours %v, sugarme %v", c.text, got, en.Ids)
			}
		}
		if differs == 0 {
			t.Error("sugarme merged every case leftmost: the documented difference is gone, update the docs")
		}
	})
	t.Run("whitespace runs split differently", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteTokenizer(dir, []Merge{{"\n", "\n"}, {"\t", "\t"}, {" ", " "}}); err != nil {
			t.Fatal(err)
		}
		ours, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		sg := sugarmeTokenizer(t, dir)
		const nn, tt, sp = 256, 257, 258
		for _, c := range []struct {
			text          string
			ours, sugarme []int
		}{
			{"a\n\nb", []int{'a', '\n', '\n', 'b'}, []int{'a', nn, 'b'}},
			{"\t\tx", []int{'\t', '\t', 'x'}, []int{tt, 'x'}},
			{"a   b", []int{'a', sp, ' ', 'b'}, []int{'a', sp, ' ', 'b'}}, // the same: " b" takes the last space on both sides
			{"a\n\n", []int{'a', nn}, []int{'a', nn}},                     // a run at the end stays whole on both sides
		} {
			if got := ours.Encode(c.text); !slices.Equal(got, c.ours) {
				t.Errorf("%q: ours %v, want %v", c.text, got, c.ours)
			}
			en, err := sg.EncodeSingle(c.text, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(en.Ids, c.sugarme) {
				t.Errorf("%q: sugarme %v, documented %v", c.text, en.Ids, c.sugarme)
			}
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzEncodeParity checks, for any input, that Decode(Encode(x)) == x and
// that words cover the text, and for valid UTF-8 without special tokens,
// parity with sugarme (see sugarmeCheck). Its seed corpus (edgeTexts,
// oddTexts and testdata/fuzz/FuzzEncodeParity) also goes through HF in
// TestHFParity.
func FuzzEncodeParity(f *testing.F) {
	for _, x := range append(slices.Clone(oddTexts), edgeTexts...) {
		f.Add(x)
	}
	dir, _ := parityTokenizer(f)
	tok, err := Load(dir)
	if err != nil {
		f.Fatal(err)
	}
	sg := sugarmeTokenizer(f, dir)
	f.Fuzz(func(t *testing.T, x string) {
		if got := tok.Decode(tok.Encode(x)); got != x {
			t.Fatalf("Decode(Encode(%q)) = %q", x, got)
		}
		if s, _ := findSpecial(x); s >= 0 || !utf8.ValidString(x) {
			return
		}
		sugarmeCheck(t, tok, sg, x)
	})
}

func TestTokenizer(t *testing.T) {
	dir, docs := trainedTokenizer(t, 512)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round trip of documents and arbitrary bytes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		texts := append([]string{}, oddTexts...)
		texts = append(texts, "café ½ 中文 €", "\xff\xfe invalid \xc3", "<|doc|", "<|unknown|>")
		for _, d := range docs[:200] {
			texts = append(texts, d.Text)
		}
		for n := 0; n < 500; n++ {
			b := make([]byte, rng.IntN(64))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			texts = append(texts, string(b))
		}
		for _, x := range texts {
			if got := tok.Decode(tok.Encode(x)); got != x {
				t.Fatalf("Decode(Encode(%q)) = %q", x, got)
			}
		}
	})
	t.Run("special tokens in text become their ids", func(t *testing.T) {
		doc, _ := tok.TokenID(DocStart)
		end, _ := tok.TokenID(DocEnd)
		if doc != tok.VocabSize()-2 || end != tok.VocabSize()-1 {
			t.Fatalf("special ids %d %d, vocab %d: want the last two", doc, end, tok.VocabSize())
		}
		body := docs[0].Text
		got := tok.Encode(DocStart + body + DocEnd + DocStart)
		want := append(append([]int{doc}, tok.Encode(body)...), end, doc)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v\nwant %v", got, want)
		}
		if tok.Decode(got) != DocStart+body+DocEnd+DocStart {
			t.Fatal("specials do not decode to their strings")
		}
	})
	t.Run("TokenID takes raw text", func(t *testing.T) {
		for _, c := range []struct {
			s  string
			id int
			ok bool
		}{{"a", 'a', true}, {" ", ' ', true}, {"\n", '\n', true}, {"no such token here", 0, false}} {
			id, ok := tok.TokenID(c.s)
			if ok != c.ok || (ok && id != c.id) {
				t.Errorf("TokenID(%q) = %d, %v", c.s, id, ok)
			}
		}
		if id, ok := tok.TokenID(" ord"); !ok || tok.Decode([]int{id}) != " ord" {
			t.Errorf("\" ord\" should be one merged token, got %d %v", id, ok)
		}
	})
	t.Run("Hash is TokenizerHashOf", func(t *testing.T) {
		h, err := TokenizerHashOf(dir)
		if err != nil || h != tok.Hash() {
			t.Fatalf("%s vs %s (%v)", h, tok.Hash(), err)
		}
	})
	t.Run("concurrent Encode agrees with serial", func(t *testing.T) {
		fresh, _ := Load(dir)
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := g; i < len(docs); i += 8 {
					if !reflect.DeepEqual(fresh.Encode(docs[i].Text), tok.Encode(docs[i].Text)) {
						errs <- docs[i].Key
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for k := range errs {
			t.Fatalf("concurrent encode of %s differs", k)
		}
	})
	t.Run("EncodeBatch equals Encode, in order", func(t *testing.T) {
		texts := append(slices.Clone(edgeTexts), oddTexts...)
		for _, d := range docs {
			texts = append(texts, d.Text)
		}
		got := tok.EncodeBatch(texts)
		if len(got) != len(texts) {
			t.Fatalf("%d results for %d texts", len(got), len(texts))
		}
		for i, x := range texts {
			if !slices.Equal(got[i], tok.Encode(x)) {
				t.Fatalf("text %d (%q): batch %v", i, x, got[i])
			}
		}
		if len(tok.EncodeBatch(nil)) != 0 {
			t.Fatal("EncodeBatch(nil) not empty")
		}
	})
	t.Run("malformed files are refused", func(t *testing.T) {
		for name, content := range map[string]string{
			VocabFile:  `{"a": 0`,
			MergesFile: "#version: 0.2\na b c\n",
		} {
			bad := t.TempDir()
			for _, f := range []string{VocabFile, MergesFile} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				if f == name {
					b = []byte(content)
				}
				os.WriteFile(filepath.Join(bad, f), b, 0o644)
			}
			if _, err := Load(bad); !errors.Is(err, ErrTokenizerFormat) {
				t.Errorf("%s: err = %v, want ErrTokenizerFormat", name, err)
			}
		}
	})
}

// BenchmarkEncode compares Encode with HuggingFace tokenizers (Node) and
// sugarme on the same corpus (the rendered documents) and vocabulary, in two
// regimes, all in one run:
//
//   - single: one thread, documents encoded one at a time (ours:
//     AppendEncode; HF: await encode(doc) per document in Node; sugarme:
//     EncodeSingle);
//   - batch: all cores, one call over all documents (ours: EncodeBatchInto
//     on a Batch reused from call to call, and EncodeBatch, fresh results
//     each call, as batch-alloc; HF: encodeBatch; sugarme: EncodeBatch).
//
// Every side encodes the whole corpus once to warm its caches before
// timing. HF is timed inside Node, startup excluded (hfpeer/encode.js
// --bench); without the peer its metrics are left out. Metric names carry
// the regime; per-core rates divide by the cores used (GOMAXPROCS for us and
// sugarme, Node's available parallelism for HF). The x- metrics are our rate
// over the peer's, in the same regime. MB/cpu-s metrics (and the x-...-cpu
// ratios) divide the bytes by the process's CPU time instead of wall-clock
// time (getrusage; process.cpuUsage in Node): on a shared machine other
// processes stretch wall-clock time, mostly for the all-core regime, but
// not the CPU time a side spends. x-hf-single-per-core is our batch rate
// per core over HF's single-thread rate, the yardstick.
func BenchmarkEncode(b *testing.B) {
	dir, docs := trainedTokenizer(b, 512)
	tok, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, len(docs))
	var size int64
	for i, d := range docs {
		texts[i] = d.Text
		size += int64(len(d.Text))
		tok.Encode(d.Text)
	}
	cores := runtime.GOMAXPROCS(0)

	// Peers, measured once for both regimes. Each rate is also given per
	// CPU-second (cpu: bytes over the process's CPU time), which other load
	// on a shared machine does not distort as it distorts wall-clock time.
	type rate struct{ mbs, tokS, cpu float64 }
	var hfSingle, hfBatch rate
	var hfThreads int
	if _, err := os.Stat(filepath.Join(hfPeerDir, "node_modules", "tokenizers")); err == nil {
		node := hfPeer(b)
		type regime struct {
			Passes     int     `json:"passes"`
			Seconds    float64 `json:"seconds"`
			CPUSeconds float64 `json:"cpuSeconds"`
			Tokens     int64   `json:"tokens"`
		}
		var r struct {
			Bytes   int64  `json:"bytes"`
			Threads int    `json:"threads"`
			Single  regime `json:"single"`
			Batch   regime `json:"batch"`
		}
		if err := json.Unmarshal(hfRun(b, node, dir, texts, "--bench"), &r); err != nil {
			b.Fatal(err)
		}
		if r.Bytes != size {
			b.Fatalf("HF saw %d bytes, we have %d", r.Bytes, size)
		}
		hfThreads = r.Threads
		hfRate := func(g regime) rate {
			n := float64(r.Bytes) * float64(g.Passes)
			return rate{n / g.Seconds / 1e6, float64(g.Tokens) * float64(g.Passes) / g.Seconds, n / g.CPUSeconds / 1e6}
		}
		hfSingle, hfBatch = hfRate(r.Single), hfRate(r.Batch)
	} else {
		b.Logf("HF tokenizers peer not installed (run make tools): HF metrics left out")
	}
	sg := sugarmeTokenizer(b, dir)
	inputs := make([]sugar.EncodeInput, len(texts))
	for i, x := range texts {
		inputs[i] = sugar.NewSingleEncodeInput(sugar.NewInputSequence(x))
	}
	timeIt := func(pass func()) rate { // MB/s over at least 300ms
		pass() // warm-up
		var done int64
		t0, c0 := time.Now(), cpuSeconds()
		for done == 0 || time.Since(t0) < 300*time.Millisecond {
			pass()
			done += size
		}
		return rate{mbs: float64(done) / time.Since(t0).Seconds() / 1e6, cpu: float64(done) / (cpuSeconds() - c0) / 1e6}
	}
	sgSingle := timeIt(func() {
		for _, x := range texts {
			if _, err := sg.EncodeSingle(x, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	sgBatch := timeIt(func() {
		if _, err := sg.EncodeBatch(inputs, false); err != nil {
			b.Fatal(err)
		}
	})
	var tokens int64
	for _, ids := range tok.EncodeBatch(texts) {
		tokens += int64(len(ids))
	}
	tokPerMB := float64(tokens) / float64(size) * 1e6

	// report gives our rate (wall-clock over n cores, and per CPU-second)
	// beside the peers'. The CPU-time rates need no division by cores: a
	// CPU-second is one core busy for a second.
	report := func(b *testing.B, regime string, ours rate, n int, hf rate, hfN int, sugarme rate) {
		b.ReportMetric(ours.mbs/float64(n), regime+"-MB/s/core")
		b.ReportMetric(ours.mbs*tokPerMB/float64(n), regime+"-tokens/s/core")
		b.ReportMetric(ours.cpu, regime+"-MB/cpu-s")
		b.ReportMetric(sugarme.mbs, "sugarme-"+regime+"-MB/s")
		b.ReportMetric(ours.mbs/sugarme.mbs, "x-sugarme-"+regime)
		b.ReportMetric(ours.cpu/sugarme.cpu, "x-sugarme-"+regime+"-cpu")
		if hfN > 0 {
			b.ReportMetric(hf.mbs, "hf-"+regime+"-MB/s")
			b.ReportMetric(hf.mbs/float64(hfN), "hf-"+regime+"-MB/s/core")
			b.ReportMetric(hf.tokS/float64(hfN), "hf-"+regime+"-tokens/s/core")
			b.ReportMetric(hf.cpu, "hf-"+regime+"-MB/cpu-s")
			b.ReportMetric(ours.mbs/hf.mbs, "x-hf-"+regime)
			b.ReportMetric(ours.cpu/hf.cpu, "x-hf-"+regime+"-cpu")
			if regime == "batch" {
				// The goal's yardstick: our per-core batch rate over HF's single thread.
				b.ReportMetric(ours.mbs/float64(n)/hfSingle.mbs, "x-hf-single-per-core")
			}
		}
	}
	b.Run("single", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		ids := make([]int, 0, 1<<16)
		start, c0 := time.Now(), cpuSeconds()
		for b.Loop() {
			for _, x := range texts {
				ids = tok.AppendEncode(ids[:0], x)
			}
		}
		n := float64(size) * float64(b.N)
		ours := rate{mbs: n / time.Since(start).Seconds() / 1e6, cpu: n / (cpuSeconds() - c0) / 1e6}
		b.StopTimer()
		report(b, "single", ours, 1, hfSingle, min(hfThreads, 1), sgSingle)
	})
	b.Run("batch", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var batch Batch
		start, c0 := time.Now(), cpuSeconds()
		for b.Loop() {
			tok.EncodeBatchInto(&batch, texts)
		}
		n := float64(size) * float64(b.N)
		ours := rate{mbs: n / time.Since(start).Seconds() / 1e6, cpu: n / (cpuSeconds() - c0) / 1e6}
		b.StopTimer()
		report(b, "batch", ours, cores, hfBatch, hfThreads, sgBatch)
		b.ReportMetric(float64(cores), "cores")
	})
	// EncodeBatch allocates a fresh result each call (one buffer per
	// chunk), as HF's encodeBatch does; batch above reuses one Batch.
	b.Run("batch-alloc", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		start, c0 := time.Now(), cpuSeconds()
		for b.Loop() {
			tok.EncodeBatch(texts)
		}
		n := float64(size) * float64(b.N)
		b.ReportMetric(n/time.Since(start).Seconds()/1e6/float64(cores), "batch-alloc-MB/s/core")
		b.ReportMetric(n/(cpuSeconds()-c0)/1e6, "batch-alloc-MB/cpu-s")
	})
}
