package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/train"
)

// Bringing the final checkpoint home.
//
// The train.Launcher contract, as activities.TrainSegment relies on it, is
// that a job Describe reports succeeded has left its final checkpoint in
// spec.CheckpointDir, which the activity reads with train.LatestCheckpoint
// on the worker's disk. A SageMaker job writes its checkpoints under
// /opt/ml/checkpoints, which SageMaker copies to the CheckpointConfig S3
// URI, so that contract only holds once the launcher has copied the final
// checkpoint from there into CheckpointDir. Doing it here keeps the
// activity backend-agnostic.
//
// Describe may run in another worker than Submit (a retried activity, a
// restarted worker), and the launcher keeps no state in memory, so Submit
// writes what the copy needs, the spec's CheckpointDir and TargetStep, to a
// small record next to the source archive (recordName). Jobs submitted
// before the record existed fall back to the spec inside their archive.

// recordName is the job record's key under <CodeS3URI>/<job name>/.
const recordName = "supplyline_job.json"

// jobRecord is what Describe needs of the spec a job was submitted with.
type jobRecord struct {
	Job            string `json:"job"`
	IdempotencyKey string `json:"idempotency_key"`
	// CheckpointDir is the spec's, as given: a local path the checkpoint is
	// copied into, or an s3:// URI that needs no copy.
	CheckpointDir string `json:"checkpoint_dir"`
	// CheckpointURI is the job's CheckpointConfig S3 URI, in case
	// DescribeTrainingJob ever omits it.
	CheckpointURI string `json:"checkpoint_uri"`
	TargetStep    int    `json:"target_step"`
}

// writeRecord stores j's record. Submit writes it before CreateTrainingJob,
// so every job it creates has one.
func (l *Launcher) writeRecord(ctx context.Context, j job) error {
	rec := jobRecord{Job: j.name, IdempotencyKey: j.key, CheckpointDir: j.spec.CheckpointDir, CheckpointURI: j.ckptURI, TargetStep: j.spec.TargetStep}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return l.put(ctx, l.opts.CodeS3URI, j.name+"/"+recordName, bytes.NewReader(append(b, '\n')))
}

// readRecord returns the record of job name, or, for a job without one, the
// same fields from the spec in its source archive. It wraps blob.ErrNotExist
// when neither exists.
func (l *Launcher) readRecord(ctx context.Context, name string) (jobRecord, error) {
	var rec jobRecord
	st, err := blob.OpenURI(ctx, l.opts.CodeS3URI, l.opts.S3)
	if err != nil {
		return rec, err
	}
	b, err := readSmall(ctx, st, name+"/"+recordName)
	if err == nil {
		if err := json.Unmarshal(b, &rec); err != nil {
			return rec, fmt.Errorf("%s/%s/%s: %w", l.opts.CodeS3URI, name, recordName, err)
		}
		return rec, nil
	}
	if !errors.Is(err, blob.ErrNotExist) {
		return rec, err
	}
	spec, err := archivedSpec(ctx, st, name+"/"+archiveName)
	if err != nil {
		return rec, err
	}
	return jobRecord{Job: name, IdempotencyKey: spec.IdempotencyKey, CheckpointDir: spec.CheckpointDir, TargetStep: spec.TargetStep}, nil
}

// archivedSpec reads supplyline_spec.json out of the source archive at key.
func archivedSpec(ctx context.Context, st blob.Store, key string) (train.JobSpec, error) {
	var spec train.JobSpec
	r, err := st.Open(ctx, key)
	if err != nil {
		return spec, err
	}
	defer r.Close()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return spec, fmt.Errorf("%s: %w", key, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return spec, fmt.Errorf("%s has no %s: %w", key, archiveSpec, blob.ErrNotExist)
		}
		if err != nil {
			return spec, fmt.Errorf("%s: %w", key, err)
		}
		if h.Name != archiveSpec {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return spec, fmt.Errorf("%s: %w", key, err)
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			return spec, fmt.Errorf("%s: %s: %w", key, archiveSpec, err)
		}
		return spec, nil
	}
}

// readSmall reads a small object whole (a record, latest, state.json).
func readSmall(ctx context.Context, st blob.Store, key string) ([]byte, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 16<<20))
}

// checkpointDirName matches the directories the trainer publishes, and not
// its temporaries (".step-NNNNNNN.tmp-PID", "step-NNNNNNN.old-PID").
var checkpointDirName = regexp.MustCompile(`^step-([0-9]+)$`)

// syncCheckpoint makes the final checkpoint of the completed job described
// by out available where its spec's CheckpointDir says. It returns a
// non-empty failure when the job left no complete checkpoint at its target
// step, which retrying cannot change, and an error for what may pass (S3 or
// the local disk failing).
func (l *Launcher) syncCheckpoint(ctx context.Context, out *sm.DescribeTrainingJobOutput) (failure string, err error) {
	name := aws.ToString(out.TrainingJobName)
	rec, err := l.readRecord(ctx, name)
	if errors.Is(err, blob.ErrNotExist) {
		return fmt.Sprintf("job completed, but neither its record %s/%s/%s nor its source archive is in S3, so the launcher cannot tell where its checkpoint goes", l.opts.CodeS3URI, name, recordName), nil
	}
	if err != nil {
		return "", fmt.Errorf("sagemaker: %s: read job record: %w", name, err)
	}
	if strings.HasPrefix(rec.CheckpointDir, "s3://") {
		// The job checkpointed to the spec's own URI: it is already where
		// the caller asked for it.
		return "", nil
	}
	local, target := rec.CheckpointDir, rec.TargetStep
	if haveCheckpoint(local, "", target) {
		return "", nil
	}

	uri := rec.CheckpointURI
	if out.CheckpointConfig != nil && aws.ToString(out.CheckpointConfig.S3Uri) != "" {
		uri = aws.ToString(out.CheckpointConfig.S3Uri)
	}
	uri = strings.TrimRight(uri, "/")
	if uri == "" {
		return "job completed without a CheckpointConfig S3 URI, so it left no checkpoint to copy to " + local, nil
	}
	st, err := blob.OpenURI(ctx, uri, l.opts.S3)
	if err != nil {
		return "", fmt.Errorf("sagemaker: %s: %w", name, err)
	}
	ckpt, state, failure, err := findFinal(ctx, st, uri, target)
	if failure != "" || err != nil {
		return failure, err
	}
	for _, f := range []string{train.ModelFile, train.OptimizerFile} {
		if _, err := st.Stat(ctx, ckpt+"/"+f); errors.Is(err, blob.ErrNotExist) {
			return fmt.Sprintf("job completed, but its checkpoint at step %d is incomplete: %s/%s/%s is missing", target, uri, ckpt, f), nil
		} else if err != nil {
			return "", fmt.Errorf("sagemaker: %s: %w", name, err)
		}
	}
	// A crash between publishing the directory and latest leaves a
	// complete copy: only latest is missing.
	if !haveCheckpoint(local, ckpt, target) {
		if err := download(ctx, st, ckpt, state, local); err != nil {
			return "", fmt.Errorf("sagemaker: %s: copy %s/%s to %s: %w", name, uri, ckpt, local, err)
		}
	}
	if err := writeLatest(local, ckpt); err != nil {
		return "", fmt.Errorf("sagemaker: %s: %w", name, err)
	}
	l.log.Info("final checkpoint copied from S3", "job", name, "from", uri+"/"+ckpt, "to", filepath.Join(local, ckpt), "step", target)
	return "", nil
}

// haveCheckpoint reports whether local already holds a complete checkpoint
// at step target: the directory ckpt, or with ckpt empty the one latest
// names. A copy is only ever published whole (see download), so its
// state.json having the target step is taken to mean it is the job's.
func haveCheckpoint(local, ckpt string, target int) bool {
	dir := filepath.Join(local, ckpt)
	if ckpt == "" {
		latest, err := train.LatestCheckpoint(local)
		if err != nil || latest == "" {
			// An unreadable latest is replaced by the copy.
			return false
		}
		dir = latest
	}
	s, err := train.ReadState(dir)
	if err != nil || s.Step != target {
		return false
	}
	for _, f := range []string{train.ModelFile, train.OptimizerFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// findFinal names the checkpoint directory (under st) of the job's target
// step: the one S3's latest names when its state.json is at target, else
// the highest step-* directory whose state.json is. It returns that
// state.json too, or a failure naming the keys it looked at.
func findFinal(ctx context.Context, st blob.Store, uri string, target int) (ckpt string, state []byte, failure string, err error) {
	stateAt := func(dir string) ([]byte, bool, error) {
		b, err := readSmall(ctx, st, dir+"/"+train.StateFile)
		if errors.Is(err, blob.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		var s train.State
		if json.Unmarshal(b, &s) != nil || s.Step != target {
			return nil, false, nil
		}
		return b, true, nil
	}

	why := ""
	b, err := readSmall(ctx, st, train.LatestFile)
	switch {
	case errors.Is(err, blob.ErrNotExist):
		why = uri + "/" + train.LatestFile + " is missing"
	case err != nil:
		return "", nil, "", err
	default:
		name := strings.TrimSpace(string(b))
		if !checkpointDirName.MatchString(name) {
			why = fmt.Sprintf("%s/%s names %q, not a checkpoint", uri, train.LatestFile, name)
			break
		}
		state, ok, err := stateAt(name)
		if err != nil {
			return "", nil, "", err
		}
		if ok {
			return name, state, "", nil
		}
		why = fmt.Sprintf("%s/%s names %s, but %s/%s/%s is missing or not at step %d", uri, train.LatestFile, name, uri, name, train.StateFile, target)
	}

	objs, err := st.List(ctx, "step-")
	if err != nil {
		return "", nil, "", err
	}
	steps := map[string]int{}
	for _, o := range objs {
		dir, _, ok := strings.Cut(o.Key, "/")
		if m := checkpointDirName.FindStringSubmatch(dir); ok && m != nil {
			steps[dir], _ = strconv.Atoi(m[1])
		}
	}
	dirs := slices.Collect(maps.Keys(steps))
	slices.SortFunc(dirs, func(a, b string) int { return steps[b] - steps[a] })
	for _, d := range dirs {
		state, ok, err := stateAt(d)
		if err != nil {
			return "", nil, "", err
		}
		if ok {
			return d, state, "", nil
		}
	}
	return "", nil, fmt.Sprintf("job completed, but left no checkpoint at its target step %d: %s, and no %s/step-*/%s is at step %d (expected %s/%s/%s)",
		target, why, uri, train.StateFile, target, uri, train.CheckpointName(target), train.StateFile), nil
}

// download copies checkpoint directory ckpt of st into local/ckpt the way
// the trainer publishes one: into a temporary directory beside it, renamed
// into place once every file is on disk, so that a crash or a concurrent
// copy never leaves a partial checkpoint under the final name. state is the
// state.json already read from S3.
func download(ctx context.Context, st blob.Store, ckpt string, state []byte, local string) error {
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(local, "."+ckpt+".sync-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	for _, f := range []string{train.ModelFile, train.OptimizerFile} {
		if err := downloadFile(ctx, st, ckpt+"/"+f, filepath.Join(tmp, f)); err != nil {
			return err
		}
	}
	if err := writeFileSync(filepath.Join(tmp, train.StateFile), state); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	final := filepath.Join(local, ckpt)
	if _, err := os.Stat(final); err == nil {
		// An incomplete or foreign copy under the final name: replace it
		// whole, as the trainer does on a rerun.
		old, err := os.MkdirTemp(local, "."+ckpt+".old-")
		if err != nil {
			return err
		}
		if err := os.Rename(final, filepath.Join(old, ckpt)); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(local)
}

func downloadFile(ctx context.Context, st blob.Store, key, path string) error {
	r, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeLatest points local/latest at ckpt, last and atomically: a reader
// sees the previous checkpoint or this one, never a torn name.
func writeLatest(local, ckpt string) error {
	f, err := os.CreateTemp(local, "."+train.LatestFile+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.WriteString(ckpt + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(local, train.LatestFile)); err != nil {
		return err
	}
	return syncDir(local)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
