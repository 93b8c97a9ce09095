package tokenize

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// writeHFTokenizer writes tokenizer.json in the format of HuggingFace
// tokenizers (read by Tokenizer.fromFile in Python, Rust and the npm
// binding): a BPE model with our vocabulary and merges, the ByteLevel
// pre-tokenizer and decoder, and SpecialTokens as special added tokens, so
// that HF splits text at them before pre-tokenization, as Encode does.
//
// The settings that decide ids, and why:
//   - add_prefix_space false: Encode does not add one, so that
//     Decode(Encode(x)) == x; GPT-2's default (true) would shift every id of
//     a text's first word.
//   - use_regex true: HF splits with GPT-2's regexp, which Encode follows
//     (see nextWord).
//   - ignore_merges false: a word is always merged from its bytes, even
//     when the whole word is in the vocabulary (which it is, by
//     construction, only for merged symbols anyway).
//   - no normalizer and no post-processor: ids are those of the text alone.
//   - merges as [left, right] pairs, the unambiguous form HF has read and
//     written since tokenizers 0.20.
//
// tokens are the vocabulary in id order, in byte-level characters (special
// tokens as themselves); pairs are the merges, in rank order and byte-level
// characters.
func writeHFTokenizer(buf *bytes.Buffer, tokens []string, pairs [][2]string) error {
	js := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			panic(err) // strings and ints only
		}
		return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	id := make(map[string]int, len(tokens))
	for i, t := range tokens {
		id[t] = i
	}
	buf.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, sp := range SpecialTokens {
		n, ok := id[sp]
		if !ok {
			return fmt.Errorf("%w: special token %q not in the vocabulary", ErrTokenizerFormat, sp)
		}
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(buf, "\n    {\"id\": %d, \"content\": %s, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}", n, js(sp))
	}
	const byteLevel = `{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}`
	buf.WriteString("\n  ],\n  \"normalizer\": null,\n")
	buf.WriteString("  \"pre_tokenizer\": " + byteLevel + ",\n")
	buf.WriteString("  \"post_processor\": null,\n")
	buf.WriteString("  \"decoder\": " + byteLevel + ",\n")
	buf.WriteString("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n" +
		"    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n" +
		"    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": ")
	if err := writeVocabObject(buf, tokens, "    ", ""); err != nil {
		return err
	}
	buf.WriteString(",\n    \"merges\": [")
	for i, p := range pairs {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n      [" + js(p[0]) + ", " + js(p[1]) + "]")
	}
	if len(pairs) > 0 {
		buf.WriteString("\n    ")
	}
	buf.WriteString("]\n  }\n}\n")
	return nil
}

// writeVocabObject writes tokens as a JSON object from token to id, one
// entry per line in id order (encoding/json would sort the keys), each line
// indented by indent plus two spaces, followed by tail.
func writeVocabObject(buf *bytes.Buffer, tokens []string, indent, tail string) error {
	buf.WriteString("{")
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	for id, t := range tokens {
		if id > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n" + indent + "  ")
		if err := enc.Encode(t); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		fmt.Fprintf(buf, ": %d", id)
	}
	buf.WriteString("\n" + indent + "}" + tail)
	return nil
}
