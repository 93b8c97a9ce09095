package tokenize

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testShard encodes docs as a shard of dtype and returns its manifest entry
// (with a matching hash) and the bytes of its .bin and .idx.
func testShard(dtype string, docs ...[]uint32) (ShardInfo, []byte, []byte) {
	var bin []byte
	idx := binary.LittleEndian.AppendUint64(nil, 0)
	var n int64
	for _, d := range docs {
		for _, t := range d {
			if dtype == "uint16" {
				bin = binary.LittleEndian.AppendUint16(bin, uint16(t))
			} else {
				bin = binary.LittleEndian.AppendUint32(bin, t)
			}
		}
		n += int64(len(d))
		idx = binary.LittleEndian.AppendUint64(idx, uint64(n))
	}
	info := ShardInfo{Bin: "dir/train-00000.bin", Idx: "dir/train-00000.idx", Tokens: n, Docs: int64(len(docs))}
	info.SHA256 = sha256Hex(append(slices.Clone(bin), idx...))
	return info, bin, idx
}

func TestVerifyShard(t *testing.T) {
	docs := [][]uint32{{1, 2, 3}, {4, 5}, {}, {6, 7, 8, 9}}
	// rehash fixes up the manifest's hash, so that only the layout checks can
	// catch a change.
	rehash := func(info *ShardInfo, bin, idx []byte) {
		info.SHA256 = sha256Hex(append(slices.Clone(bin), idx...))
	}
	for _, dtype := range []string{"uint16", "uint32"} {
		width, err := DTypeWidth(dtype)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			vocab int
			edit  func(info *ShardInfo, bin, idx []byte) ([]byte, []byte)
			is    error
			names string // the error message must contain it
		}{
			{"intact", 10, nil, nil, ""},
			{"intact, vocabulary unknown", 0, nil, nil, ""},
			{"upper-case hex hash", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				info.SHA256 = strings.ToUpper(info.SHA256)
				return bin, idx
			}, nil, ""},
			{"flipped byte in the .bin", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				bin[1] ^= 0x40
				return bin, idx
			}, ErrChecksum, "train-00000.bin"},
			{"flipped byte in the .idx", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				idx[9] ^= 0x40
				return bin, idx
			}, ErrChecksum, "train-00000.idx"},
			{".bin not a whole number of ids", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				bin = bin[:len(bin)-1]
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "train-00000.bin"},
			{".bin one id short of the manifest", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				bin = bin[:len(bin)-width]
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "manifest says 9 tokens"},
			{".bin sized for the other dtype", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				if width == 2 {
					bin = append(bin, bin...)
				} else {
					bin = bin[:len(bin)/2]
				}
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "train-00000.bin"},
			{".idx one entry short", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				idx = idx[:len(idx)-8]
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "train-00000.idx"},
			{"first offset not 0", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				binary.LittleEndian.PutUint64(idx[0:], 1)
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "at entry 0"},
			{"offsets decrease", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				binary.LittleEndian.PutUint64(idx[16:], 2) // after 3
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "offset 2 at entry 2"},
			{"offset past the end", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				binary.LittleEndian.PutUint64(idx[24:], 10)
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "offset 10 at entry 3"},
			{"last offset short of the end", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				binary.LittleEndian.PutUint64(idx[32:], 8)
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "offset 8 at entry 4"},
			{"token id at the vocabulary size", 9, nil, ErrShardFormat, "token 8 is id 9, outside the vocabulary of 9"},
			{"token id far past the vocabulary", 10, func(info *ShardInfo, bin, idx []byte) ([]byte, []byte) {
				if width == 2 {
					binary.LittleEndian.PutUint16(bin[2*4:], 0xffff)
				} else {
					binary.LittleEndian.PutUint32(bin[4*4:], 0xffffffff)
				}
				rehash(info, bin, idx)
				return bin, idx
			}, ErrShardFormat, "token 4 is id"},
			{"vocabulary larger than the dtype", math.MaxInt, nil, nil, ""},
		} {
			t.Run(dtype+"/"+tc.name, func(t *testing.T) {
				info, bin, idx := testShard(dtype, docs...)
				if tc.edit != nil {
					bin, idx = tc.edit(&info, bin, idx)
				}
				err := VerifyShard(info, bin, idx, dtype, tc.vocab)
				if tc.is == nil {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.names) {
					t.Fatalf("err = %v, want %v naming %q", err, tc.is, tc.names)
				}
				var ce *ChecksumError
				if errors.As(err, &ce) != (tc.is == ErrChecksum) {
					t.Fatalf("wrong error type %T: %v", err, err)
				}
				if ce != nil && (ce.Bin != info.Bin || ce.Idx != info.Idx || ce.Want != info.SHA256) {
					t.Fatalf("ChecksumError %+v does not name the shard %+v", ce, info)
				}
			})
		}
	}
}

func TestVerifyShardDType(t *testing.T) {
	info, bin, idx := testShard("uint16", []uint32{1, 2})
	if err := VerifyShard(info, bin, idx, "int8", 10); !errors.Is(err, ErrShardFormat) || !strings.Contains(err.Error(), `dtype "int8"`) {
		t.Fatalf("unknown dtype: %v, want ErrShardFormat naming it", err)
	}
	if _, err := DTypeWidth("float32"); !errors.Is(err, ErrShardFormat) {
		t.Fatalf("DTypeWidth(float32) = %v, want ErrShardFormat", err)
	}
}

// TestVerifyShardFindsFirstOutOfVocabulary puts the offending id at every
// position, word boundaries and tails included, of shards of several lengths.
func TestVerifyShardFindsFirstOutOfVocabulary(t *testing.T) {
	for _, dtype := range []string{"uint16", "uint32"} {
		for n := 1; n <= 11; n++ {
			for at := range n {
				doc := make([]uint32, n)
				for i := range doc {
					doc[i] = uint32(i % 7)
				}
				doc[at] = 7
				info, bin, idx := testShard(dtype, doc)
				err := VerifyShard(info, bin, idx, dtype, 7)
				want := "token " + strconv.Itoa(at) + " is id 7,"
				if !errors.Is(err, ErrShardFormat) || !strings.Contains(err.Error(), want) {
					t.Fatalf("%s n=%d at=%d: %v, want %q", dtype, n, at, err, want)
				}
				if err := VerifyShard(info, bin, idx, dtype, 8); err != nil {
					t.Fatalf("%s n=%d at=%d: vocabulary 8 refused: %v", dtype, n, at, err)
				}
			}
		}
	}
}

func BenchmarkVerifyShard(b *testing.B) {
	doc := make([]uint32, 1<<22)
	for i := range doc {
		doc[i] = uint32(i % 50000)
	}
	for _, dtype := range []string{"uint16", "uint32"} {
		info, bin, idx := testShard(dtype, doc)
		b.Run(dtype, func(b *testing.B) {
			b.SetBytes(int64(len(bin)))
			for b.Loop() {
				if err := VerifyShard(info, bin, idx, dtype, 50000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
