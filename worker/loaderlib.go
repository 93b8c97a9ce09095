package worker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// LoaderLibName is the file name of the Go loader's C shared library.
const LoaderLibName = "libsupplyline_loader.so"

// FindLoaderLib locates the loader library the trainer loads through its C
// ABI: $SUPPLYLINE_LOADER_LIB, else next to the running executable (where
// `make build` puts it), else bin/ under the working directory.
func FindLoaderLib() (string, error) {
	if p := os.Getenv("SUPPLYLINE_LOADER_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SUPPLYLINE_LOADER_LIB: %w", err)
		}
		return filepath.Abs(p)
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), LoaderLibName))
	}
	candidates = append(candidates, filepath.Join("bin", LoaderLibName))
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("loader library %s not found in %v: run `make build` or set SUPPLYLINE_LOADER_LIB", LoaderLibName, candidates)
}

// BuildLoaderLib builds the loader library into dir with the go command, from
// the module that contains the working directory. Tests use it.
func BuildLoaderLib(dir string) (string, error) {
	out := filepath.Join(dir, LoaderLibName)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "github.com/supplyline/supplyline/train/loader/capi")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", errors.Join(fmt.Errorf("building %s: %w", LoaderLibName, err), errors.New(string(b)))
	}
	return out, nil
}
