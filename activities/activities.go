package activities

import (
	"time"

	"go.temporal.io/sdk/client"

	"github.com/supplyline/supplyline/train"
)

// Activities holds what the activities depend on. The zero value is not
// usable: Launchers needs at least one backend.
type Activities struct {
	// Launchers maps a backend name ("local", "sagemaker-trn1", ...) to its launcher.
	Launchers map[string]train.Launcher
	// LoaderLib is the Go loader's C shared library handed to local trainers.
	LoaderLib string
	// Client lets the Promote activity send Updates to the champion workflow.
	Client client.Client
	// PollInterval is how often a training segment polls its job and heartbeats. Zero means 2s.
	PollInterval time.Duration
}

func (a *Activities) pollInterval() time.Duration {
	if a.PollInterval > 0 {
		return a.PollInterval
	}
	return 2 * time.Second
}
