// Package workflows holds Supplyline's Temporal workflows: the pipeline
// (Ingest → Tokenize → Train segments → Evaluate). Workflows pass URIs and
// small manifests, never data. Activity options live in options.go; replay
// histories of real runs live in testdata/ so that a change that would break
// running executions fails the replay test.
package workflows
