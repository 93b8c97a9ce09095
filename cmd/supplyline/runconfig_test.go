package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRunConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(body string) string {
		p := filepath.Join(dir, "run.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("the README's example parses with every field", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(origDir, "../../README.md"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(readme)
		i := strings.Index(s, "### Run config")
		start := strings.Index(s[i:], "```json\n") + i + len("```json\n")
		end := strings.Index(s[start:], "```") + start
		cfg, err := loadRunConfig(write(s[start:end]))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.S3.Endpoint != "http://127.0.0.1:7070" || !cfg.S3.PathStyle || cfg.Steps != 300 || cfg.Model.Dim != 64 || cfg.Hyper.LR != 0.003 {
			t.Errorf("parsed %+v", cfg)
		}
		if cfg.Inputs[0] != filepath.Join(dir, "data/events") || cfg.Inputs[1] != "s3://bucket/events/" {
			t.Errorf("inputs %v: local paths must be absolute, URIs untouched", cfg.Inputs)
		}
	})
	t.Run("unknown fields are errors", func(t *testing.T) {
		_, err := loadRunConfig(write(`{"inputs": ["x"], "setps": 10}`))
		if err == nil || !strings.Contains(err.Error(), "setps") {
			t.Fatalf("error %v does not name the unknown field", err)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		_, err := loadRunConfig(write(`{"vocab_size": 100, "cutoff_fraction": 1.5}`))
		for _, want := range []string{"run.json", "inputs", "vocab_size", "cutoff_fraction"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v does not name %s", err, want)
			}
		}
	})
}
