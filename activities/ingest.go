package activities

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/dataset/blob"
)

// IngestInput names the raw event files and where the canonical table goes.
type IngestInput struct {
	// Inputs are local paths, directories, globs or s3://bucket/prefix URIs.
	Inputs []string
	// OutDir receives events/, quarantine/ and manifest.json.
	OutDir string
	// S3 points s3:// inputs at an S3-compatible endpoint; zero means AWS.
	S3 blob.S3Options
	// TolerateBadFiles continues with the readable files when some input files
	// are not Parquet or are corrupt; they are still listed in the output.
	TolerateBadFiles bool
}

// IngestOutput is the small summary the workflow keeps; the full manifest is at ManifestPath.
type IngestOutput struct {
	ManifestPath string
	CanonicalDir string
	RowsIn       int64
	Accepted     int64
	Quarantined  int64
	Duplicates   int64
	ContentHash  string
	MinTime      time.Time
	MaxTime      time.Time
	BadFiles     []string
}

// Ingest validates the raw events into the canonical table.
func (a *Activities) Ingest(ctx context.Context, in IngestInput) (IngestOutput, error) {
	activity.RecordHeartbeat(ctx, "ingest")
	cfg := dataset.IngestConfig{Inputs: in.Inputs, OutDir: in.OutDir, S3: in.S3}
	if err := cfg.Validate(); err != nil {
		return IngestOutput{}, permanent(ErrTypeInvalidConfig, err)
	}
	m, err := dataset.Ingest(ctx, cfg)
	var bad *dataset.BadFilesError
	if errors.As(err, &bad) && in.TolerateBadFiles {
		activity.GetLogger(ctx).Warn("ingest skipped bad files", "files", len(bad.Files), "error", err)
		err = nil
	}
	if errors.As(err, &bad) {
		return IngestOutput{}, permanent(ErrTypeBadInput, err)
	}
	if err != nil {
		return IngestOutput{}, err
	}
	if m.Accepted == 0 {
		return IngestOutput{}, permanent(ErrTypeBadInput, fmt.Errorf("ingest %v: no valid events (%d rows in, %d quarantined, %d duplicates)", in.Inputs, m.RowsIn, m.Quarantined, m.Duplicates))
	}
	out := IngestOutput{
		ManifestPath: filepath.Join(in.OutDir, "manifest.json"),
		CanonicalDir: filepath.Join(in.OutDir, "events"),
		RowsIn:       m.RowsIn,
		Accepted:     m.Accepted,
		Quarantined:  m.Quarantined,
		Duplicates:   m.Duplicates,
		ContentHash:  m.ContentHash,
		MinTime:      m.MinEventTime,
		MaxTime:      m.MaxEventTime,
	}
	for _, f := range m.BadFiles {
		out.BadFiles = append(out.BadFiles, f.File)
	}
	return out, nil
}
