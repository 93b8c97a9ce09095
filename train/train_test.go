package train

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJobSpecValidate(t *testing.T) {
	ok := JobSpec{IdempotencyKey: "wf/seg-0000", ShardManifest: "m.json", CheckpointDir: "/c", TargetStep: 10, Model: ModelConfig{VocabSize: 300}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a spec with default model shape: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*JobSpec)
		want []string
	}{
		{"empty", func(s *JobSpec) { *s = JobSpec{} }, []string{"idempotency_key", "shard_manifest", "checkpoint_dir", "target_step", "vocab_size"}},
		{"negative world", func(s *JobSpec) { s.WorldSize = -1 }, []string{"world_size"}},
		{"heads do not divide dim", func(s *JobSpec) { s.Model.Dim, s.Model.Heads = 30, 4 }, []string{"not a multiple"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.mod(&s)
			err := s.Validate()
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error %v does not wrap ErrInvalidSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestCapacityErrorIsNoCapacity(t *testing.T) {
	var err error = &CapacityError{Backend: "sagemaker-trn1", Reason: "InsufficientInstanceCapacity"}
	var ce *CapacityError
	if !errors.Is(err, ErrNoCapacity) || !errors.As(err, &ce) || ce.Backend != "sagemaker-trn1" {
		t.Fatalf("%v: errors.Is/As do not see a capacity error", err)
	}
}

func TestLatestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if got, err := LatestCheckpoint(dir); got != "" || err != nil {
		t.Fatalf("empty dir: %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, LatestFile), []byte(CheckpointName(200)+"\n"), 0o644)
	if got, _ := LatestCheckpoint(dir); got != filepath.Join(dir, "step-0000200") {
		t.Errorf("latest = %q", got)
	}
	os.WriteFile(filepath.Join(dir, LatestFile), []byte("../../etc\n"), 0o644)
	if _, err := LatestCheckpoint(dir); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("a latest file naming another directory: %v, want ErrBadCheckpoint", err)
	}
}

// safetensorsFile builds a file from a header and a data length.
func safetensorsFile(t *testing.T, header string, data int) string {
	p := filepath.Join(t.TempDir(), "model.safetensors")
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	b = append(b, make([]byte, data)...)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadSafetensors(t *testing.T) {
	p := safetensorsFile(t, `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},"__metadata__":{"x":"y"}}`, 28)
	ts, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || len(ts["a"].Data) != 6 || ts["a"].Shape[1] != 3 || len(ts["b"].Data) != 1 {
		t.Errorf("tensors = %+v", ts)
	}
	bad := []struct{ name, header, want string }{
		{"dtype", `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, "dtype F16"},
		{"offsets", `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, "do not match shape"},
		{"past the end", `{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}`, "do not match shape"},
		{"json", `{"a":`, "header JSON"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSafetensors(safetensorsFile(t, tc.header, 28))
			if !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrBadCheckpoint naming %q", err, tc.want)
			}
		})
	}
}
