package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLoaderLib(t *testing.T) {
	t.Run("from the environment", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), LoaderLibName)
		os.WriteFile(p, []byte("x"), 0o644)
		t.Setenv("SUPPLYLINE_LOADER_LIB", p)
		got, err := FindLoaderLib()
		if err != nil || got != p {
			t.Fatalf("FindLoaderLib() = %q, %v; want %q", got, err, p)
		}
	})
	t.Run("a missing file named by the environment is an error", func(t *testing.T) {
		t.Setenv("SUPPLYLINE_LOADER_LIB", filepath.Join(t.TempDir(), "nope.so"))
		if _, err := FindLoaderLib(); err == nil || !strings.Contains(err.Error(), "SUPPLYLINE_LOADER_LIB") {
			t.Fatalf("error %v does not name the variable", err)
		}
	})
	t.Run("bin under the working directory", func(t *testing.T) {
		t.Setenv("SUPPLYLINE_LOADER_LIB", "")
		dir := t.TempDir()
		t.Chdir(dir)
		if _, err := FindLoaderLib(); err == nil || !strings.Contains(err.Error(), "make build") {
			t.Fatalf("without a library: error %v should tell how to build it", err)
		}
		os.MkdirAll("bin", 0o755)
		os.WriteFile(filepath.Join("bin", LoaderLibName), []byte("x"), 0o644)
		got, err := FindLoaderLib()
		if err != nil || got != filepath.Join(dir, "bin", LoaderLibName) {
			t.Fatalf("FindLoaderLib() = %q, %v", got, err)
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "temporal:7233")
	c := Config{}.withDefaults()
	if c.HostPort != "temporal:7233" || c.Namespace != "default" || c.TaskQueue != "supplyline" || c.JobsRoot == "" || c.Logger == nil {
		t.Errorf("defaults = %+v", c)
	}
	t.Setenv("TEMPORAL_ADDRESS", "")
	if c := (Config{}).withDefaults(); c.HostPort != "localhost:7233" {
		t.Errorf("default address %q", c.HostPort)
	}
}
