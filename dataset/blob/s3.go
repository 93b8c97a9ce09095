package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configures the S3 client behind an s3:// store. The zero value
// talks to AWS itself: the region and credentials come from the SDK's
// default chain (environment, shared config files, instance or task role).
type S3Options struct {
	// Endpoint is the base URL of an S3-compatible server, such as
	// "http://127.0.0.1:7070" for versitygw or MinIO. Empty means AWS.
	Endpoint string `json:"endpoint,omitempty"`
	// PathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key. Most S3-compatible servers need it.
	PathStyle bool `json:"path_style,omitempty"`
	// Region overrides the region of the default chain. When both are
	// empty and Endpoint is set, "us-east-1" is used, since S3-compatible
	// servers accept any region but SigV4 needs one.
	Region string `json:"region,omitempty"`
}

// S3 is a Store over an S3 bucket and key prefix.
type S3 struct {
	client *s3.Client
	tm     *transfermanager.Client
	bucket string
	prefix string // "" or ends without a slash
}

var _ Store = (*S3)(nil)

// NewS3 returns a Store for s3://bucket/prefix, configuring a client from
// the default AWS chain and opts.
func NewS3(ctx context.Context, bucket, prefix string, opts S3Options) (*S3, error) {
	client, err := NewS3Client(ctx, opts)
	if err != nil {
		return nil, err
	}
	return NewS3WithClient(client, bucket, prefix), nil
}

// NewS3Client builds the S3 client that NewS3 uses. It is exported so that
// callers (tests, bucket administration) share exactly the same settings.
func NewS3Client(ctx context.Context, opts S3Options) (*s3.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("blob: load AWS config: %w", err)
	}
	if cfg.Region == "" && opts.Endpoint != "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
	}), nil
}

// NewS3WithClient returns a Store over bucket/prefix using client.
func NewS3WithClient(client *s3.Client, bucket, prefix string) *S3 {
	return &S3{
		client: client,
		tm:     transfermanager.New(client),
		bucket: bucket,
		prefix: strings.Trim(prefix, "/"),
	}
}

func (s *S3) key(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	if s.prefix == "" {
		return key, nil
	}
	return s.prefix + "/" + key, nil
}

func (s *S3) uri(key string) string {
	return "s3://" + path.Join(s.bucket, s.prefix, key)
}

// Open implements Store. The returned body streams from S3.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return nil, s.wrap("open", key, err)
	}
	return out.Body, nil
}

// Create implements Store. Bytes stream through a pipe into a
// transfermanager upload (multipart above its threshold, so memory stays
// bounded by the part size times the upload concurrency). The object
// becomes visible when the upload completes, which Close waits for.
func (s *S3) Create(ctx context.Context, key string) (io.WriteCloser, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, cancel: cancel, done: make(chan struct{}), name: s.uri(key)}
	go func() {
		defer close(w.done)
		_, err := s.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: &s.bucket,
			Key:    &k,
			Body:   pr,
		})
		w.err = err
		// Unblock a writer still writing after a failed upload.
		pr.CloseWithError(errOr(err, errUploadEnded))
	}()
	return w, nil
}

var errUploadEnded = errors.New("blob: upload ended")

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

type s3Writer struct {
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set by the upload goroutine before done closes
	name   string
	closed bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		return n, fmt.Errorf("blob: write %s: %w", w.name, err)
	}
	return n, nil
}

// Close ends the stream and waits for the upload to complete.
func (w *s3Writer) Close() error {
	if w.closed {
		return fmt.Errorf("blob: %s: already closed", w.name)
	}
	w.closed = true
	w.pw.Close()
	<-w.done
	w.cancel()
	if w.err != nil {
		return fmt.Errorf("blob: upload %s: %w", w.name, w.err)
	}
	return nil
}

// Abort implements Aborter: the upload fails, so nothing is published
// (transfermanager aborts a multipart upload it had started).
func (w *s3Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.pw.CloseWithError(errAborted)
	w.cancel()
	<-w.done
	return nil
}

var errAborted = errors.New("blob: write aborted")

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	full := prefix
	if s.prefix != "" {
		full = s.prefix + "/" + prefix
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
	var out []Info
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			if strings.HasSuffix(k, "/") { // directory marker
				continue
			}
			out = append(out, Info{Key: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	k, err := s.key(key)
	if err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return Info{}, s.wrap("stat", key, err)
	}
	return Info{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// wrap adds the URI and turns S3's "absent" errors into ErrNotExist.
// HeadObject has no body, so its 404 arrives as NotFound, not NoSuchKey.
func (s *S3) wrap(op, key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) ||
		(errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")) {
		return fmt.Errorf("blob: %s %s: %w: %w", op, s.uri(key), ErrNotExist, err)
	}
	return fmt.Errorf("blob: %s %s: %w", op, s.uri(key), err)
}
