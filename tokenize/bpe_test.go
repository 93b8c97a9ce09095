package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func seq(texts []string) func(func(string) bool) {
	return slices.Values(texts)
}

func TestTrain(t *testing.T) {
	small := 256 + len(SpecialTokens)
	tests := []struct {
		name  string
		texts []string
		vocab int
		want  []Merge
	}{
		{"highest count first", []string{"ab", "xy", "xy", "ab", "xy"}, small + 2, []Merge{{"x", "y"}, {"a", "b"}}},
		{"ties go to the smallest pair", []string{"cd", "ab", "cd", "ab"}, small + 2, []Merge{{"a", "b"}, {"c", "d"}}},
		{"ties compare raw bytes: space sorts first", []string{"xy xy xy ab ab"}, small + 2, []Merge{{"x", "y"}, {" ", "a"}}},
		{"merges never cross words or special tokens", []string{"a<|doc|>b", "a<|end|>b", "a b"}, small + 4, nil},
		{"stops when no pair repeats", []string{"abc"}, small + 10, nil},
		{"repeated symbols merge left to right", []string{"aaa aaa"}, small + 2, []Merge{{"a", "a"}, {"aa", "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Train(seq(tt.texts), TrainConfig{VocabSize: tt.vocab})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("merges %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("vocab size below bytes and specials is refused", func(t *testing.T) {
		if _, err := Train(seq(nil), TrainConfig{VocabSize: 257}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTrainDeterministic(t *testing.T) {
	train, _, _, err := Render(synthEvents(3, 2, 5, 40, 300), testStart.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(train))
	for i, d := range train {
		texts[i] = d.Text
	}
	first, err := Train(seq(texts), TrainConfig{VocabSize: 600})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 50 {
		t.Fatalf("only %d merges", len(first))
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for run := 0; run < 3; run++ {
		t.Run("shuffled input", func(t *testing.T) {
			shuffled := slices.Clone(texts)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			again, err := Train(seq(shuffled), TrainConfig{VocabSize: 600})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, again) {
				t.Fatal("merges differ between runs")
			}
		})
	}
}

func TestWriteTokenizer(t *testing.T) {
	dir := t.TempDir()
	merges := []Merge{{" ", "x"}, {"a", "b"}, {"ab", "\n"}, {"a", "bc"}, {"ab", "c"}}
	if err := WriteTokenizer(dir, merges); err != nil {
		t.Fatal(err)
	}
	mb, _ := os.ReadFile(filepath.Join(dir, MergesFile))
	if want := "#version: 0.2\nĠ x\na b\nab Ċ\na bc\nab c\n"; string(mb) != want {
		t.Fatalf("merges.txt %q, want %q", mb, want)
	}
	vb, _ := os.ReadFile(filepath.Join(dir, VocabFile))
	var vocab map[string]int
	if err := json.Unmarshal(vb, &vocab); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tok string
		id  int
	}{{"!", '!'}, {"Ġ", ' '}, {"Ā", 0}, {"Ġx", 256}, {"ab", 257}, {"abĊ", 258}, {"abc", 259}, {DocStart, 260}, {DocEnd, 261}} {
		if vocab[c.tok] != c.id {
			t.Errorf("vocab[%q] = %d, want %d", c.tok, vocab[c.tok], c.id)
		}
	}
	if len(vocab) != 262 {
		t.Errorf("%d entries, want 262 (abc twice is one symbol)", len(vocab))
	}
	if !bytes.Contains(vb, []byte(`"<|doc|>": 260`)) {
		t.Errorf("vocab.json escapes or reorders special tokens:\n%s", vb[len(vb)-80:])
	}
}
