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

// regexpWords is the reference split: sugarme's regexp in isolated mode,
// gaps included.
var splitRE = regexp.MustCompile(`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`)

func regexpWords(s string) []string {
	var out []string
	prev := 0
	for _, m := range splitRE.FindAllStringIndex(s, -1) {
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
		in   string
		want []string
	}{
		{"w=3 oh=12 ord=8\n", []string{"w", "=", "3", " oh", "=", "12", " ord", "=", "8", "\n"}},
		{"it's  they'll\t\nx", []string{"it", "'s", " ", " they", "'ll", "\t\n", "x"}},
		{"a  \n b", []string{"a", "  \n", " b"}},
		{" '", []string{" '"}},
		{"'x ' ''s", []string{"'", "x", " '", " ''", "s"}},
		{"end ", []string{"end", " "}},
		{"café ½€ 3\v4", []string{"café", " ½", "€", " 3", "\v", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := words(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if got := regexpWords(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("regexp reference disagrees with the table: %q", got)
			}
		})
	}
	t.Run("random strings match the regexp", func(t *testing.T) {
		alphabet := []string{"a", "Z", "é", "ß", "中", "1", "٣", "½", " ", " ", "\n", "\t", "\r", "\v", "\f", "'", "s", "t", "re", "ve", "m", "ll", "d", "=", "-", "€", "\u00a0", "\u2028", "\xff", "\xc3", "<|", "\x00"}
		rng := rand.New(rand.NewPCG(1, 2))
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rng.IntN(24); k >= 0; k-- {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			s := b.String()
			if got, want := words(s), regexpWords(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: got %q, regexp %q", s, got, want)
			}
		}
	})
}
