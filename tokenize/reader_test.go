package tokenize

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenShardsOneSplit(t *testing.T) {
	evs := synthEvents(8, 2, 3, 30, 200)
	cutoff := testStart.AddDate(0, 0, 20)
	dir := t.TempDir()
	build(t, dir, evs, cutoff, 0)
	both, err := OpenShards(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := both.Split(SplitTrain)

	// A damaged val shard does not stop a reader of train, which never reads it.
	flip(t, filepath.Join(dir, "val-00000.bin"), 7)
	s, err := OpenShards(dir, SplitTrain)
	if err != nil {
		t.Fatalf("train alone: %v", err)
	}
	got, err := s.Split(SplitTrain)
	if err != nil || !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Offsets, want.Offsets) {
		t.Fatalf("train alone differs from train of both (%v)", err)
	}
	if _, err := s.Split(SplitVal); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Split(val) after reading train = %v, want ErrInvalidConfig", err)
	}
	if _, err := OpenShards(dir, SplitVal); !errors.Is(err, ErrChecksum) {
		t.Fatalf("val alone = %v, want ErrChecksum", err)
	}
	if _, err := OpenShards(dir, "test"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("unknown split = %v, want ErrInvalidConfig", err)
	}

	// The tokenizer is checked whichever split is read.
	if err := WriteTokenizer(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenShards(dir, SplitTrain); !errors.Is(err, ErrTokenizerMismatch) {
		t.Fatalf("train alone with another tokenizer = %v, want ErrTokenizerMismatch", err)
	}
}

func TestOpenShardsVocabularyAndHashCase(t *testing.T) {
	evs := synthEvents(8, 2, 3, 30, 200)
	cutoff := testStart.AddDate(0, 0, 20)
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, dir string, m Manifest)
		is    error
		names string
	}{
		{"upper-case hex hashes", func(t *testing.T, dir string, m Manifest) {
			m.TokenizerHash = strings.ToUpper(m.TokenizerHash)
			m.Train[0].SHA256 = strings.ToUpper(m.Train[0].SHA256)
			writeManifest(t, dir, m)
		}, nil, ""},
		{"token id at the vocabulary size", func(t *testing.T, dir string, m Manifest) {
			rewriteShard(t, dir, func(bin []byte) []byte {
				b := slices.Clone(bin)
				binary.LittleEndian.PutUint16(b[4:], uint16(m.VocabSize))
				return b
			})
		}, ErrShardFormat, "train-00000.bin"},
		{"vocabulary shrunk below the ids", func(t *testing.T, dir string, m Manifest) {
			m.VocabSize = 200
			writeManifest(t, dir, m)
		}, ErrShardFormat, "outside the vocabulary of 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := build(t, dir, evs, cutoff, 0)
			tc.edit(t, dir, m)
			_, err := OpenShards(dir)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("err = %v, want %v naming %q", err, tc.is, tc.names)
			}
		})
	}
}
