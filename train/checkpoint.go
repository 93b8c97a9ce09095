package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Checkpoint layout. A checkpoint is a directory
//
//	<CheckpointDir>/step-0000200/
//	    model.safetensors   weights: 8-byte little-endian header length, a JSON
//	                        header {name: {dtype, shape, data_offsets}}, then raw
//	                        data. DDP's "module." prefix is stripped, the tied
//	                        lm_head is written once (as wte.weight).
//	    optimizer.pt        AdamW state (torch.save), for exact resume only
//	    state.json          State
//
// and <CheckpointDir>/latest holds the name of the newest complete
// checkpoint. The trainer writes into a temporary directory and renames it,
// so a checkpoint that exists is complete.
const (
	ModelFile     = "model.safetensors"
	OptimizerFile = "optimizer.pt"
	StateFile     = "state.json"
	LatestFile    = "latest"
)

// CheckpointName is the directory name of the checkpoint at step.
func CheckpointName(step int) string { return fmt.Sprintf("step-%07d", step) }

// State is state.json.
type State struct {
	// Step is the number of optimiser steps taken.
	Step int `json:"step"`
	// TokensSeen counts training tokens over all ranks.
	TokensSeen int64 `json:"tokens_seen"`
	// Loss is the training loss at Step.
	Loss float64 `json:"loss"`
	// LossCurve is the training loss at every logged step up to Step, as
	// [step, loss] pairs, carried over from the checkpoints the run resumed
	// from. Checkpoints written before it existed have none.
	LossCurve [][2]float64 `json:"loss_curve,omitempty"`
	// Loader is the exact loader position to resume from.
	Loader LoaderState `json:"loader"`
	// GlobalBatch is the number of windows per optimiser step over all
	// ranks that the run used (Hyper.GlobalBatch with its default applied).
	// The trainer refuses to resume with another one: the loader's epochs
	// end at a different window, and the optimisation would change.
	GlobalBatch int `json:"global_batch,omitempty"`
	// RNG holds base64 RNG states: "torch" (rank 0's CPU generator) and "python".
	RNG map[string]string `json:"rng"`
	// Model is the decoder's shape.
	Model ModelConfig `json:"model"`
	// Hyper are the optimisation settings the run used.
	Hyper Hyper `json:"hyper"`
	// Lineage records where the data came from.
	Lineage Lineage `json:"lineage"`
}

// LoaderState fixes the global sample order and the position in it. Resuming
// from it reproduces the remaining batches bit for bit, whatever WorldSize is.
type LoaderState struct {
	Seed      int64 `json:"seed"`
	Epoch     int64 `json:"epoch"`
	Position  int64 `json:"position"`
	WorldSize int64 `json:"world_size"`
}

// Lineage ties a checkpoint to its inputs.
type Lineage struct {
	ShardManifest string `json:"shard_manifest"`
	TokenizerHash string `json:"tokenizer_hash"`
	InputHash     string `json:"input_hash"`
	Cutoff        string `json:"cutoff"`
}

// ReadState reads state.json from checkpoint directory dir.
func ReadState(dir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: %s: %w", ErrBadCheckpoint, filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// LatestCheckpoint returns the directory named by <ckptDir>/latest, or "" when there is none.
func LatestCheckpoint(ckptDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(ckptDir, LatestFile))
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(b))
	if name == "" || strings.ContainsAny(name, "/\\") {
		return "", fmt.Errorf("%w: %s names %q", ErrBadCheckpoint, filepath.Join(ckptDir, LatestFile), name)
	}
	return filepath.Join(ckptDir, name), nil
}

// Tensor is one float32 tensor read from a safetensors file.
type Tensor struct {
	Shape []int
	Data  []float32
}

// ReadSafetensors reads every tensor of a safetensors file. Only F32 is
// accepted, since that is all the trainer writes; anything else is an error
// naming the tensor.
func ReadSafetensors(path string) (map[string]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("%w: %s: header length: %w", ErrBadCheckpoint, path, err)
	}
	if n == 0 || n > uint64(st.Size())-8 || n > 100<<20 {
		return nil, fmt.Errorf("%w: %s: header length %d does not fit a %d-byte file", ErrBadCheckpoint, path, n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%w: %s: header: %w", ErrBadCheckpoint, path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: header JSON: %w", ErrBadCheckpoint, path, err)
	}
	type entry struct {
		name    string
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	var entries []entry
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		e := entry{name: name}
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: %w", ErrBadCheckpoint, path, name, err)
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Offsets[0] < entries[j].Offsets[0] })
	dataLen := st.Size() - 8 - int64(n)
	out := make(map[string]Tensor, len(entries))
	var pos int64
	for _, e := range entries {
		if e.DType != "F32" {
			return nil, fmt.Errorf("%w: %s: tensor %q has dtype %s, want F32", ErrBadCheckpoint, path, e.name, e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			count *= d
		}
		if e.Offsets[0] != pos || e.Offsets[1]-e.Offsets[0] != int64(4*count) || e.Offsets[1] > dataLen {
			return nil, fmt.Errorf("%w: %s: tensor %q: offsets %v do not match shape %v (data is %d bytes)", ErrBadCheckpoint, path, e.name, e.Offsets, e.Shape, dataLen)
		}
		buf := make([]byte, 4*count)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("%w: %s: tensor %q: %w", ErrBadCheckpoint, path, e.name, err)
		}
		data := make([]float32, count)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		out[e.name] = Tensor{Shape: e.Shape, Data: data}
		pos = e.Offsets[1]
	}
	return out, nil
}
