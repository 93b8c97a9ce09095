// Package worker is the Supplyline worker process: it dials Temporal,
// builds the training backends and registers the workflows and activities.
package worker
