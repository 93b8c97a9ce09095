package pytrainer

import "embed"

// FS holds supplyline_trainer/*.py.
//
//go:embed supplyline_trainer/*.py
var FS embed.FS
