package sagemaker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/pytrainer"
)

// The source archive (sourcedir.tar.gz), which the SageMaker training
// toolkit unpacks into /opt/ml/code on every instance:
//
//	sagemaker_entry.py             the entry point (sagemaker_program), a copy of
//	                               supplyline_trainer/sagemaker_entry.py
//	supplyline_trainer/*.py        the embedded trainer (train/pytrainer)
//	lib/libsupplyline_loader.so    the Go loader's C ABI
//	supplyline_spec.json           the train.JobSpec, as submitted
//
// Entries carry a fixed time and mode, so one spec and library always give
// the same bytes: a Submit retried after a crash uploads the same object.
const (
	archiveName   = "sourcedir.tar.gz"
	entryScript   = "sagemaker_entry.py"
	archiveLib    = "lib/libsupplyline_loader.so"
	archiveSpec   = "supplyline_spec.json"
	codeDirOnHost = "/opt/ml/code"
)

var archiveTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// buildArchive returns the gzipped tar and its SHA-256 in hex.
func buildArchive(spec train.JobSpec, libPath string) ([]byte, string, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, "", err
	}
	gz.ModTime = archiveTime
	tw := tar.NewWriter(gz)
	add := func(name string, mode int64, size int64, r io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: mode, Size: size, ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}

	entry, err := pytrainer.FS.ReadFile("supplyline_trainer/" + entryScript)
	if err != nil {
		return nil, "", fmt.Errorf("entry point: %w", err)
	}
	if err := add(entryScript, 0o644, int64(len(entry)), bytes.NewReader(entry)); err != nil {
		return nil, "", err
	}
	pys, err := fs.Glob(pytrainer.FS, "supplyline_trainer/*.py")
	if err != nil {
		return nil, "", err
	}
	for _, name := range pys { // sorted by fs.Glob
		b, err := pytrainer.FS.ReadFile(name)
		if err != nil {
			return nil, "", err
		}
		if err := add(path.Clean(name), 0o644, int64(len(b)), bytes.NewReader(b)); err != nil {
			return nil, "", err
		}
	}
	lib, err := os.Open(libPath)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrLoaderLib, err)
	}
	defer lib.Close()
	fi, err := lib.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrLoaderLib, err)
	}
	if err := add(archiveLib, 0o755, fi.Size(), lib); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrLoaderLib, libPath, err)
	}
	specJSON, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, "", err
	}
	specJSON = append(specJSON, '\n')
	if err := add(archiveSpec, 0o644, int64(len(specJSON)), bytes.NewReader(specJSON)); err != nil {
		return nil, "", err
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	if err := gz.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}
