package sagemaker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/supplyline/supplyline/dataset/blob"
	"github.com/supplyline/supplyline/internal/sagemakertest"
	"github.com/supplyline/supplyline/train"
)

// getCounter is a reverse proxy in front of the S3 server that counts the
// launcher's GET requests per object path, so that a test can tell whether
// a Describe downloaded a checkpoint. The SDK signs the proxy's host, which
// the proxy passes on unchanged, so signatures still verify.
type getCounter struct {
	url  string
	mu   sync.Mutex
	gets map[string]int // "/bucket/key" → GETs (object reads, not listings)
}

func countGets(t *testing.T, endpoint string) *getCounter {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c := &getCounter{gets: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" {
			c.mu.Lock()
			c.gets[r.URL.Path]++
			c.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// matching sums the GETs of object paths that contain every one of parts,
// leaving out the progress objects, which every Describe reads.
func (c *getCounter) matching(parts ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.gets {
		if !strings.Contains(p, "/"+progressDir+"/") && !slices.ContainsFunc(parts, func(s string) bool { return !strings.Contains(p, s) }) {
			n += k
		}
	}
	return n
}

// describeUntilFinal polls Describe the way TrainSegment does, without a clock.
func describeUntilFinal(t *testing.T, l *Launcher, id train.JobID) train.JobStatus {
	t.Helper()
	for range 10 {
		st, err := l.Describe(context.Background(), id)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		if st.State.Final() {
			return st
		}
	}
	t.Fatal("job never ended")
	return train.JobStatus{}
}

// assertSegmentCheckpoint checks what activities.TrainSegment checks after
// a job succeeded: latest in the local CheckpointDir names a checkpoint at
// the target step, with its weights and optimizer state beside it.
func assertSegmentCheckpoint(t *testing.T, dir string, target int) string {
	t.Helper()
	ckpt, err := train.LatestCheckpoint(dir)
	if err != nil || ckpt != filepath.Join(dir, train.CheckpointName(target)) {
		t.Fatalf("LatestCheckpoint(%s) = %q, %v; want %s", dir, ckpt, err, train.CheckpointName(target))
	}
	s, err := train.ReadState(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != target || s.Loss != sagemakertest.CheckpointLoss {
		t.Errorf("state %+v, want step %d loss %v", s, target, sagemakertest.CheckpointLoss)
	}
	if w, err := train.ReadSafetensors(filepath.Join(ckpt, train.ModelFile)); err != nil || len(w["wte.weight"].Data) != 2 {
		t.Errorf("copied weights %v, %v", w, err)
	}
	if b, err := os.ReadFile(filepath.Join(ckpt, train.OptimizerFile)); err != nil || len(b) == 0 {
		t.Errorf("copied optimizer state: %d bytes, %v", len(b), err)
	}
	return ckpt
}

// assertOnlyPublished fails when the local CheckpointDir holds anything
// but published checkpoints and latest: no temporaries left behind.
func assertOnlyPublished(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != train.LatestFile && !checkpointDirName.MatchString(e.Name()) {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}
}

func TestCompletedJobCheckpointIsCopiedHome(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	spec := e.spec("home/seg-0001")
	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	st := describeUntilFinal(t, e.l, id)
	if st.State != train.StateSucceeded || st.ExitCode != 0 {
		t.Fatalf("state %s (%s), want succeeded", st.State, st.Message)
	}
	ckpt := assertSegmentCheckpoint(t, e.ckptDir, spec.TargetStep)
	assertOnlyPublished(t, e.ckptDir)

	ckptKeys := "/supplyline/checkpoints/home/"
	if n := e.gets.matching(ckptKeys, train.ModelFile); n != 1 {
		t.Errorf("model.safetensors downloaded %d times, want once", n)
	}
	before := e.gets.matching(ckptKeys)
	fi, err := os.Stat(filepath.Join(ckpt, train.ModelFile))
	if err != nil {
		t.Fatal(err)
	}

	// Again, as a retried activity would: the local copy is complete, so
	// nothing of the checkpoint is read from S3.
	if st, err := e.l.Describe(ctx, id); err != nil || st.State != train.StateSucceeded {
		t.Fatalf("second describe: %s, %v", st.State, err)
	}
	if n := e.gets.matching(ckptKeys); n != before {
		t.Errorf("second describe read %d checkpoint objects from S3, want none", n-before)
	}
	if fi2, err := os.Stat(filepath.Join(ckpt, train.ModelFile)); err != nil || !os.SameFile(fi, fi2) || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Error("second describe rewrote the local checkpoint")
	}

	// A crash after the directory was published but before latest was:
	// the next Describe writes latest and downloads no weights again.
	if err := os.Remove(filepath.Join(e.ckptDir, train.LatestFile)); err != nil {
		t.Fatal(err)
	}
	if st, err := e.l.Describe(ctx, id); err != nil || st.State != train.StateSucceeded {
		t.Fatalf("describe without latest: %s, %v", st.State, err)
	}
	assertSegmentCheckpoint(t, e.ckptDir, spec.TargetStep)
	if n := e.gets.matching(ckptKeys, train.ModelFile); n != 1 {
		t.Errorf("model.safetensors downloaded %d times after latest was lost, want once in all", n)
	}
}

// TestRestartedWorkerCopiesCheckpoint: Describe in a fresh Launcher, which
// knows the spec only from what Submit left in S3.
func TestRestartedWorkerCopiesCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name         string
		deleteRecord bool // a job submitted before the record existed
	}{
		{"record", false},
		{"archive fallback", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			spec := e.spec("restart/seg-0002")
			id, err := e.l.Submit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := e.l.Describe(ctx, id); err != nil || st.State.Final() {
				t.Fatalf("first describe: %s, %v", st.State, err)
			}
			if tc.deleteRecord {
				key := "supplyline/" + string(id) + "/" + recordName
				if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)}); err != nil {
					t.Fatal(err)
				}
			}
			restarted, err := New(ctx, e.opts)
			if err != nil {
				t.Fatal(err)
			}
			re, err := restarted.Reattach(ctx, spec.IdempotencyKey)
			if err != nil || re != id {
				t.Fatalf("reattach %s, %v; want %s", re, err, id)
			}
			if st := describeUntilFinal(t, restarted, re); st.State != train.StateSucceeded {
				t.Fatalf("state %s (%s), want succeeded", st.State, st.Message)
			}
			assertSegmentCheckpoint(t, e.ckptDir, spec.TargetStep)
		})
	}
}

func TestCompletedJobWithoutCheckpointFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		omit []string // nil: no checkpoint at all
		want []string // in the message
	}{
		{"none", nil, []string{"/checkpoints/none/latest is missing", "/checkpoints/none/step-0000200/state.json", "target step 200"}},
		{"no optimizer", []string{train.OptimizerFile}, []string{"incomplete", "/checkpoints/no-optimizer/step-0000200/optimizer.pt is missing"}},
		{"no weights", []string{train.ModelFile}, []string{"incomplete", "/checkpoints/no-weights/step-0000200/model.safetensors is missing"}},
		{"no state", []string{train.StateFile}, []string{"names step-0000200, but s3://", "/checkpoints/no-state/step-0000200/state.json is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tc.omit == nil {
				e.fake.OnComplete(nil)
			} else {
				e.fake.OnComplete(sagemakertest.WriteCheckpoint(blob.S3Options{Endpoint: e.opts.S3.Endpoint, PathStyle: true}, tc.omit...))
			}
			id, err := e.l.Submit(context.Background(), e.spec(strings.ReplaceAll(tc.name, " ", "-")+"/seg-0000"))
			if err != nil {
				t.Fatal(err)
			}
			st := describeUntilFinal(t, e.l, id)
			if st.State != train.StateFailed {
				t.Fatalf("state %s, want failed", st.State)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Message, w) {
					t.Errorf("message %q lacks %q", st.Message, w)
				}
			}
			if !strings.Contains(st.Message, "s3://"+e.bucket+"/") {
				t.Errorf("message %q does not name the S3 key", st.Message)
			}
			if ckpt, err := train.LatestCheckpoint(e.ckptDir); ckpt != "" || err != nil {
				t.Errorf("local latest %q, %v after a failed copy", ckpt, err)
			}
			assertOnlyPublished(t, e.ckptDir)
		})
	}
}

// TestCheckpointWithoutLatest: S3's latest is missing (SageMaker's upload
// order is not specified), so the launcher finds the checkpoint by its
// state.json, preferring the highest step at the target.
func TestCheckpointWithoutLatest(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.OnComplete(sagemakertest.WriteCheckpoint(blob.S3Options{Endpoint: e.opts.S3.Endpoint, PathStyle: true}, train.LatestFile))
	spec := e.spec("nolatest/seg-0001")
	// Leftovers the lister must skip: a trainer temporary and a directory
	// named past the target whose state is not at it.
	uri := "s3://" + e.bucket + "/supplyline/checkpoints/nolatest"
	for key, body := range map[string]string{
		"step-0000200.old-7/" + train.StateFile: `{"step": 200}`,
		"step-0000300/" + train.StateFile:       `{"step": 300}`,
		"step-0000100/" + train.StateFile:       `{"step": 100}`,
	} {
		if err := e.l.put(ctx, uri, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st := describeUntilFinal(t, e.l, id); st.State != train.StateSucceeded {
		t.Fatalf("state %s (%s), want succeeded", st.State, st.Message)
	}
	assertSegmentCheckpoint(t, e.ckptDir, spec.TargetStep)
	assertOnlyPublished(t, e.ckptDir)
}

// TestS3CheckpointDirIsNotCopied: a spec that checkpoints to S3 itself
// gets its checkpoint there and nothing on local disk.
func TestS3CheckpointDirIsNotCopied(t *testing.T) {
	e := newEnv(t, nil)
	spec := e.spec("s3dir/seg-0001")
	spec.CheckpointDir = "s3://" + e.bucket + "/runs/s3dir/checkpoints"
	id, err := e.l.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if st := describeUntilFinal(t, e.l, id); st.State != train.StateSucceeded {
		t.Fatalf("state %s (%s), want succeeded", st.State, st.Message)
	}
	if n := e.gets.matching("/runs/s3dir/checkpoints/"); n != 0 {
		t.Errorf("%d checkpoint objects read, want none", n)
	}
	if got := string(e.object(t, "runs/s3dir/checkpoints/"+train.LatestFile)); got != train.CheckpointName(spec.TargetStep)+"\n" {
		t.Errorf("the job's S3 latest %q", got)
	}
}

// TestCopyErrorIsNotSuccess: a copy that fails for a reason that may pass
// returns the error and does not report the job succeeded, so the caller
// polls (or retries) and the next Describe copies again.
func TestCopyErrorIsNotSuccess(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	spec := e.spec("diskfull/seg-0001")
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	spec.CheckpointDir = blocker
	id, err := e.l.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	var st train.JobStatus
	for range 3 {
		st, err = e.l.Describe(ctx, id)
	}
	if err == nil || st.State != train.StateRunning {
		t.Fatalf("describe: %s, %v; want running and an error", st.State, err)
	}
	// The disk is fixed: the next Describe copies and succeeds.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if st, err = e.l.Describe(ctx, id); err != nil || st.State != train.StateSucceeded {
		t.Fatalf("describe after the fix: %s, %v", st.State, err)
	}
	assertSegmentCheckpoint(t, blocker, spec.TargetStep)
}
