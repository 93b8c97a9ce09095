package tokenize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The HuggingFace peer: tokenizers@0.23.2 from npm, driven by
// hfpeer/encode.js under Node. scripts/setup.sh (make tools, make test)
// installs it into hfpeer/node_modules.
const hfPeerDir = "hfpeer"

// hfPeer returns the path of node, or skips t when the peer is not
// installed. Under CI (env CI set) a missing peer fails t instead: the
// parity test is part of what make test proves.
func hfPeer(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(hfPeerDir, "node_modules", "tokenizers", "package.json"))
	}
	if err != nil {
		msg := fmt.Sprintf("HuggingFace tokenizers peer missing (%v): run make tools, which installs npm tokenizers@0.23.2 into tokenize/hfpeer/node_modules", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// hfRun runs encode.js on dir/tokenizer.json with texts as JSON lines on
// stdin and extra arguments args, and returns its stdout.
func hfRun(t testing.TB, node, dir string, texts []string, args ...string) []byte {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	enc.SetEscapeHTML(false)
	for _, x := range texts {
		if err := enc.Encode(x); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, append([]string{filepath.Join(hfPeerDir, "encode.js"), filepath.Join(dir, HFTokenizerFile)}, args...)...)
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("hfpeer: %v\n%s", err, errb.String())
	}
	return out.Bytes()
}

// hfEncode returns HF's ids for each text (valid UTF-8 only: JSON, and
// JavaScript strings, cannot carry other bytes).
func hfEncode(t testing.TB, node, dir string, texts []string) [][]int {
	t.Helper()
	out := hfRun(t, node, dir, texts)
	ids := make([][]int, 0, len(texts))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		var v []int
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("hfpeer output line %d: %v", len(ids)+1, err)
		}
		ids = append(ids, v)
	}
	if len(ids) != len(texts) {
		t.Fatalf("hfpeer returned %d encodings for %d texts", len(ids), len(texts))
	}
	return ids
}

// TestHFParity holds Encode to HuggingFace tokenizers' ids, the authority,
// text for text: rendered documents (bare, and wrapped in DocStart/DocEnd
// as Build encodes them), oddTexts and edgeTexts, the fuzz seed corpus, and
// random strings over an alphabet of whitespace, Unicode and special-token
// pieces. It runs on two vocabularies: one trained on documents only, as
// Build does, and parityTokenizer's, which has merges across whitespace
// runs, where sugarme's split differs. Encode and EncodeBatch (all cores,
// cold word cache) both hold.
func TestHFParity(t *testing.T) {
	node := hfPeer(t)
	docsDir, docs := trainedTokenizer(t, 512)
	edgesDir, _ := parityTokenizer(t)

	texts := append(slices.Clone(oddTexts), edgeTexts...)
	texts = append(texts, fuzzSeeds(t, "FuzzEncodeParity")...)
	for _, d := range docs {
		texts = append(texts, d.Text, DocStart+d.Text+DocEnd)
	}
	alphabet := []string{"a", "Z", "é", "ß", "中", "😀", "1", "0", "٣", "½", " ", " ", " ", "\n", "\t", "\r", "\r\n", "\v", "\f",
		"'", "s", "ll", "=", "-", "€", "\u00a0", "\u2028", "\u0085", "\u3000", "\u200b", "\x1c", "\x00", "<|", DocStart, DocEnd, "|>"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		var b strings.Builder
		for k := rng.IntN(32); k >= 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, x := range texts {
		if !utf8.ValidString(x) {
			t.Fatalf("corpus text %q is not valid UTF-8, which HF cannot receive", x)
		}
	}

	for _, c := range []struct{ name, dir string }{{"docs512", docsDir}, {"edges1024", edgesDir}} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			hf := hfEncode(t, node, c.dir, texts)
			var tokens, special int
			for i, x := range texts {
				got := tok.Encode(x)
				if !slices.Equal(got, hf[i]) {
					t.Errorf("%q:\n ours %v\n HF   %v", x, got, hf[i])
					continue
				}
				tokens += len(got)
				if s, _ := findSpecial(x); s >= 0 {
					special++
				}
			}
			if t.Failed() {
				return
			}
			// The batch path, from a cold word cache filled on all cores.
			cold, err := Load(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			for i, got := range cold.EncodeBatch(texts) {
				if !slices.Equal(got, hf[i]) {
					t.Fatalf("EncodeBatch, %q:\n ours %v\n HF   %v", texts[i], got, hf[i])
				}
			}
			if len(docs) < 1000 || special < len(docs) {
				t.Fatalf("too little compared: %d docs, %d texts with special tokens", len(docs), special)
			}
			t.Logf("%d texts (%d with special tokens), %d tokens: ids identical to HF tokenizers", len(texts), special, tokens)
		})
	}
}

// fuzzSeeds reads the string inputs of testdata/fuzz/<name>, the corpus
// go test -fuzz keeps.
func fuzzSeeds(t testing.TB, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") || !strings.HasSuffix(lines[1], ")") {
			t.Fatalf("%s: not a one-string fuzz input", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("no seed corpus in testdata/fuzz/%s", name)
	}
	return out
}
