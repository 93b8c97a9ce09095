package local

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string // substrings of the error; none means valid
	}{
		{"zero", Options{}, nil},
		{"set", Options{NProcPerNode: 4, MaxConcurrent: 1, StopGrace: time.Second, ExtraEnv: []string{"A=1", "B="}}, nil},
		{"all wrong", Options{NProcPerNode: -1, MaxConcurrent: -1, StopGrace: -1, ExtraEnv: []string{"NOEQUALS", "=x"}},
			[]string{"nproc_per_node", "max_concurrent", "stop_grace", `"NOEQUALS"`, `"=x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate() = %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv(LoaderLibEnv, "/opt/lib/libsupplyline_loader.so")
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, "supplyline", "jobs"); o.Root != want {
		t.Errorf("Root = %s, want %s", o.Root, want)
	}
	if o.Torchrun != DefaultTorchrun || o.Python != DefaultPython || o.MaxConcurrent != DefaultMaxConcurrent ||
		o.StopGrace != DefaultStopGrace || o.Logger == nil || o.LoaderLib != "/opt/lib/libsupplyline_loader.so" {
		t.Errorf("defaults: %+v", o)
	}

	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if o, err := (Options{}).withDefaults(); err != nil || o.Root != "/home/someone/.local/state/supplyline/jobs" {
		t.Errorf("Root without XDG_STATE_HOME = %s, %v", o.Root, err)
	}
}
