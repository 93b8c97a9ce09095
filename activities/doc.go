// Package activities holds Supplyline's Temporal activities. An Activities
// struct holds the domain dependencies (launchers as train.Launcher
// interfaces); the worker registers one filled-in pointer and workflows refer
// to its methods through a nil pointer. Activities heartbeat their progress
// and map permanent domain failures to non-retryable application errors whose
// types are listed in NonRetryableErrorTypes.
package activities
