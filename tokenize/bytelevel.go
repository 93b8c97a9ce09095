package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// byteChars is GPT-2's bytes_to_unicode: every byte gets a printable
// character so that vocab.json and merges.txt stay plain text. Bytes that are
// printable in Latin-1 map to themselves; the others (0-32, 127-160, 173),
// in ascending order, map to U+0100 onwards.
var byteChars, charBytes = func() ([256]string, map[string]byte) {
	var bc [256]string
	cb := make(map[string]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			bc[b] = string(r)
		} else {
			bc[b] = string(rune(256 + n))
			n++
		}
		cb[bc[b]] = byte(b)
	}
	return bc, cb
}()

// toByteChars maps raw bytes to their byte-level characters.
func toByteChars(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		out = append(out, byteChars[s[i]]...)
	}
	return string(out)
}

// fromByteChars maps byte-level characters back to raw bytes; ok is false
// when a character is not one of the 256.
func fromByteChars(s string) (string, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := charBytes[string(r)]
		if !ok {
			return "", false
		}
		out = append(out, b)
	}
	return string(out), true
}

// Pre-tokenization follows HuggingFace tokenizers' ByteLevel pre-tokenizer
// (use_regex true, add_prefix_space false), the authority for our ids. HF
// splits with GPT-2's regexp
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// where \s is Unicode White_Space (\v, U+0085, U+00A0, U+2028, U+3000, ...
// included), and every match is a word. A run of whitespace is one word when
// it ends the text; before other text, its last character is split off (it
// becomes the " " of a following " word", or a word of its own), so "a\n\nb"
// is "a", "\n", "\n", "b" and "a  b" is "a", " ", " b".
//
// sugarme/tokenizer v0.3.0 differs: its Go regexp lacks the two whitespace
// alternatives and Go's \s is ASCII [\t\n\f\r ] only, so whitespace runs
// become whole words through the gaps between matches ("a\n\nb" is "a",
// "\n\n", "b") and \v or U+00A0 count as symbols ("!\u00a0!" is one word).
// TestPreTokenize holds both splits and the cases where they differ.
//
// We do not add a prefix space, so that Decode(Encode(x)) == x. nextWord
// implements the split by hand, leftmost-first like the regexp, because the
// regexp costs more than the rest of encoding. Invalid UTF-8 counts as
// U+FFFD, a symbol; HF never sees it (its input is a JavaScript or Rust
// string).

type charClass uint8

const (
	clsWS     charClass = iota // \s: Unicode White_Space
	clsLetter                  // \p{L}
	clsNumber                  // \p{N}
	clsOther                   // [^\s\p{L}\p{N}], invalid UTF-8 included (as U+FFFD)
)

var asciiClass = func() (t [128]charClass) {
	for i := range t {
		c := byte(i)
		switch {
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ':
			t[i] = clsWS
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[i] = clsLetter
		case c >= '0' && c <= '9':
			t[i] = clsNumber
		default:
			t[i] = clsOther
		}
	}
	return t
}()

// classAt returns the class of the character at s[i] and its width.
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsSpace(r): // White_Space, as HF's \s
		return clsWS, w
	case unicode.IsLetter(r):
		return clsLetter, w
	case unicode.IsNumber(r):
		return clsNumber, w
	default:
		return clsOther, w
	}
}

// matchAt returns the end of the regexp match that starts at i, or -1.
func matchAt(s string, i int) int {
	c, w := classAt(s, i)
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	j := i
	if s[i] == ' ' {
		if i+1 >= len(s) {
			return -1
		}
		c, w = classAt(s, i+1)
		if c == clsWS {
			return -1
		}
		j = i + 1
	} else if c == clsWS {
		return -1
	}
	j += w
	for j < len(s) {
		c2, w2 := classAt(s, j)
		if c2 != c {
			break
		}
		j += w2
	}
	return j
}

// nextWord returns the end of the word that starts at i (i < len(s)).
func nextWord(s string, i int) int {
	if e := matchAt(s, i); e >= 0 {
		return e
	}
	// A whitespace run (matchAt takes every other start): \s+(?!\S) keeps
	// all of it at the end of s, and all but its last character before
	// other text; a single character before other text is \s+.
	j, last := i, i
	for j < len(s) {
		c, w := classAt(s, j)
		if c != clsWS {
			break
		}
		last = j
		j += w
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}
