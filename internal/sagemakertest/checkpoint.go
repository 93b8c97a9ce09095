package sagemakertest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/train"
)

// CheckpointLoss is the loss in the state.json that WriteCheckpoint writes.
const CheckpointLoss = 1.5

// WriteCheckpoint returns an OnComplete hook that leaves in the job's
// checkpoint URI what a real job leaves there once SageMaker has synced
// /opt/ml/checkpoints: step-NNNNNNN/{model.safetensors,optimizer.pt,
// state.json} at the job's target step and latest naming it. Files named in
// omit (train.ModelFile, ..., train.LatestFile) are left out, for jobs that
// end with an incomplete checkpoint. s3 is the S3 server's settings, as the
// launcher under test has them.
func WriteCheckpoint(s3 blob.S3Options, omit ...string) func(Job) error {
	return func(j Job) error {
		if j.CheckpointS3URI == "" || j.TargetStep <= 0 {
			return fmt.Errorf("job %s has no checkpoint URI or target step", j.Name)
		}
		ctx := context.Background()
		st, err := blob.OpenURI(ctx, strings.TrimRight(j.CheckpointS3URI, "/"), s3)
		if err != nil {
			return err
		}
		name := train.CheckpointName(j.TargetStep)
		state, err := json.Marshal(train.State{Step: j.TargetStep, Loss: CheckpointLoss, TokensSeen: int64(j.TargetStep) * 4096})
		if err != nil {
			return err
		}
		// The order the trainer writes them in; SageMaker's upload order
		// is not specified, and the launcher must not depend on it.
		for _, f := range []struct {
			key  string
			body []byte
		}{
			{name + "/" + train.ModelFile, safetensors()},
			{name + "/" + train.OptimizerFile, []byte("optimizer state of " + j.Name)},
			{name + "/" + train.StateFile, state},
			{train.LatestFile, []byte(name + "\n")},
		} {
			if slices.Contains(omit, f.key[strings.LastIndex(f.key, "/")+1:]) {
				continue
			}
			if err := put(ctx, st, f.key, f.body); err != nil {
				return err
			}
		}
		return nil
	}
}

// safetensors is a valid one-tensor model.safetensors, so that a test can
// read the copied weights with train.ReadSafetensors.
func safetensors() []byte {
	hdr := []byte(`{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	for _, v := range []float32{0.5, -0.25} {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
	}
	return b.Bytes()
}

func put(ctx context.Context, st blob.Store, key string, body []byte) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	defer blob.Abort(w)
	if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
		return err
	}
	return w.Close()
}
