// Package pytrainer carries the reference PyTorch trainer (the Python package
// supplyline_trainer) inside the Go binary, so that a launcher can write it
// next to a job wherever the worker runs.
package pytrainer

import "embed"

// FS holds supplyline_trainer/*.py.
//
//go:embed supplyline_trainer/*.py
var FS embed.FS
