// Package s3test starts a real S3-compatible server (versitygw with its
// posix backend) on loopback for tests. Every package whose tests touch
// s3:// URIs uses it, so those tests run against a real server, never a
// fake.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials of the test server. They are set as AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY for the calling test, so the SDK's default chain
// (what production code uses) finds them.
const (
	AccessKey = "supplyline-test"
	SecretKey = "supplyline-test-secret"
	Region    = "us-east-1"
)

// readyTimeout bounds how long we wait for the server to listen. It is a
// failure deadline, not a timing check.
const readyTimeout = 30 * time.Second

var bucketSeq atomic.Int64

// Binary returns the versitygw executable: $VERSITYGW, else
// $GOPATH/bin/versitygw (where `make tools` installs it), else $PATH.
func Binary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("versitygw not found: run `make tools` (VERSITYGW=%s: %w)", p, err)
		}
		return p, nil
	}
	gopath := build.Default.GOPATH
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found: run `make tools`")
}

// Start runs versitygw on a free loopback port for the duration of t,
// creates an empty bucket and returns the endpoint URL and the bucket name.
// It sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION with
// t.Setenv, so tests that call it cannot be parallel. Use path-style
// addressing (blob.S3Options{Endpoint: endpoint, PathStyle: true}).
// A missing binary fails the test: S3 coverage is not optional.
func Start(t testing.TB) (endpoint, bucket string) {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--port", addr, "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	var logs bytes.Buffer
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	if err := waitListening(addr, exited, &waitErr); err != nil {
		t.Fatalf("versitygw on %s: %v\n%s", addr, err, logs.String())
	}

	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", Region)

	endpoint = "http://" + addr
	bucket = fmt.Sprintf("test-%d-%d", os.Getpid(), bucketSeq.Add(1))
	if _, err := Client(endpoint).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v\n%s", bucket, err, logs.String())
	}
	return endpoint, bucket
}

// Client returns an S3 client for a server started by Start, with static
// credentials, for test setup and assertions outside the code under test.
func Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitListening polls until addr accepts connections, the server exits, or
// readyTimeout passes.
func waitListening(addr string, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before listening: %v", *waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s: %v", readyTimeout, err)
		}
	}
}
