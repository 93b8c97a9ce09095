package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/supplyline/supplyline/workflows"
)

// loadRunConfig reads a run-config JSON file. Unknown fields are errors (a
// typo must not silently fall back to a default). Relative local paths are
// made absolute against the current directory, because the worker that
// reads them may run elsewhere.
func loadRunConfig(path string) (workflows.RunConfig, error) {
	var cfg workflows.RunConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return finishRunConfig(cfg, path)
}

func finishRunConfig(cfg workflows.RunConfig, source string) (workflows.RunConfig, error) {
	cfg = cfg.WithDefaults()
	for i, in := range cfg.Inputs {
		if !strings.Contains(in, "://") {
			abs, err := filepath.Abs(in)
			if err != nil {
				return cfg, err
			}
			cfg.Inputs[i] = abs
		}
	}
	if cfg.Eval.World == "" {
		cfg.Eval.World = findWorld(cfg.Inputs)
	}
	for _, p := range []*string{&cfg.Eval.World, &cfg.Eval.ETAEvents, &cfg.Eval.ETASellers} {
		if *p != "" && !strings.Contains(*p, "://") {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return cfg, err
			}
			*p = abs
		}
	}
	abs, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return cfg, err
	}
	cfg.WorkDir = abs
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", source, err)
	}
	return cfg, nil
}

// findWorld returns the world.json that `supplyline gen` wrote into the
// first local input directory that has one, so that the replenish task
// plays a series of the world the data came from; "" when none has.
func findWorld(inputs []string) string {
	for _, in := range inputs {
		if strings.Contains(in, "://") {
			continue
		}
		p := filepath.Join(in, "world.json")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
