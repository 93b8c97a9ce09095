package tokenize

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sugarme/tokenizer/pretokenizer"
)

func TestByteChars(t *testing.T) {
	for b := 0; b < 256; b++ {
		if got, want := byteChars[b], pretokenizer.BytesChar[uint8(b)]; got != want {
			t.Fatalf("byte %#x: %q, sugarme %q", b, got, want)
		}
	}
	t.Run("space and newline", func(t *testing.T) {
		if byteChars[' '] != "Ġ" || byteChars['\n'] != "Ċ" {
			t.Fatalf("space %q newline %q", byteChars[' '], byteChars['\n'])
		}
	})
}

// sugarmeWords is sugarme/tokenizer v0.3.0's split: its Go regexp in
// isolated mode, the gaps between matches included.
var sugarmeRE = regexp.MustCompile(`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`)

func sugarmeWords(s string) []string {
	var out []string
	prev := 0
	for _, m := range sugarmeRE.FindAllStringIndex(s, -1) {
		if m[0] > prev {
			out = append(out, s[prev:m[0]])
		}
		out = append(out, s[m[0]:m[1]])
		prev = m[1]
	}
	if prev < len(s) {
		out = append(out, s[prev:])
	}
	return out
}

// gpt2Words is the reference for HF's split, built independently of
// nextWord: GPT-2's regexp with \s spelled out as Unicode White_Space. Go's
// regexp has no lookahead, so \s+(?!\S)|\s+ is matched as \s+ and a run
// followed by more text gives back its last character when it has more
// than one.
const ws = `\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

var (
	gpt2RE   = regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^` + ws + `\p{L}\p{N}]+|([` + ws + `]+))`)
	gpt2Last = regexp.MustCompile(`[` + ws + `]$`)
)

func gpt2Words(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		m := gpt2RE.FindStringSubmatchIndex(s[i:])
		if m == nil {
			panic("GPT-2's regexp matches at every position")
		}
		end := i + m[1]
		if m[2] >= 0 && end < len(s) {
			if l := gpt2Last.FindStringIndex(s[i:end]); l[0] > 0 {
				end = i + l[0]
			}
		}
		out = append(out, s[i:end])
		i = end
	}
	return out
}

func words(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := nextWord(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func TestPreTokenize(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // HF's (GPT-2's) split, ours
		sugarme []string // nil: the same
	}{
		{"w=3 oh=12 ord=8\n", []string{"w", "=", "3", " oh", "=", "12", " ord", "=", "8", "\n"}, nil},
		{"it's  they'll\t\nx", []string{"it", "'s", " ", " they", "'ll", "\t", "\n", "x"}, []string{"it", "'s", " ", " they", "'ll", "\t\n", "x"}},
		{"a  \n b", []string{"a", "  \n", " b"}, nil},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}, []string{"a", "\n\n", "b"}},
		{"a\n\n\n\nb", []string{"a", "\n\n\n", "\n", "b"}, []string{"a", "\n\n\n\n", "b"}},
		{"x\r\ny", []string{"x", "\r", "\n", "y"}, []string{"x", "\r\n", "y"}},
		{"\t\tx", []string{"\t", "\t", "x"}, []string{"\t\t", "x"}},
		{"a   b", []string{"a", "  ", " b"}, nil},
		{" '", []string{" '"}, nil},
		{"'x ' ''s", []string{"'", "x", " '", " ''", "s"}, nil},
		{"end ", []string{"end", " "}, nil},
		{"end \n\n", []string{"end", " \n\n"}, nil},
		{"café ½€ 3\v4", []string{"café", " ½", "€", " 3", "\v", "4"}, nil},
		{"!\u00a0!", []string{"!", "\u00a0", "!"}, []string{"!\u00a0!"}},
		{"x \u3000y", []string{"x", " ", "\u3000", "y"}, []string{"x", " \u3000", "y"}},
		{"0000000000 12", []string{"0000000000", " 12"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := words(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if got := gpt2Words(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("GPT-2 reference disagrees with the table: %q", got)
			}
			want := tt.sugarme
			if want == nil {
				want = tt.want
			}
			if got := sugarmeWords(tt.in); !reflect.DeepEqual(got, want) {
				t.Fatalf("sugarme's split %q, table says %q", got, want)
			}
		})
	}
	t.Run("random strings match the GPT-2 reference", func(t *testing.T) {
		alphabet := []string{"a", "Z", "é", "ß", "中", "1", "٣", "½", " ", " ", "\n", "\t", "\r", "\v", "\f", "'", "s", "t", "re", "ve", "m", "ll", "d", "=", "-", "€", "\u00a0", "\u2028", "\u0085", "\u3000", "\x1c", "\xff", "\xc3", "<|", "\x00"}
		rng := rand.New(rand.NewPCG(1, 2))
		differ := 0
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rng.IntN(24); k >= 0; k-- {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			s := b.String()
			got := words(s)
			if want := gpt2Words(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: got %q, GPT-2 reference %q", s, got, want)
			}
			if strings.Join(got, "") != s {
				t.Fatalf("%q: words do not cover the text: %q", s, got)
			}
			if !reflect.DeepEqual(got, sugarmeWords(s)) {
				differ++
			}
		}
		if differ == 0 {
			t.Fatal("sugarme's split never differed: the alphabet no longer exercises whitespace runs")
		}
	})
}
