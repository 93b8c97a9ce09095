package loadertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// LibName is the file name of the loader's C shared library.
const LibName = "libsupplyline_loader.so"

// BuildLib builds the loader's C ABI (train/loader/capi) as a shared library
// in dir and returns its path. It runs the go command, so it works from
// anywhere inside the module.
func BuildLib(dir string) (string, error) {
	out := filepath.Join(dir, LibName)
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "github.com/supplyline/supplyline/train/loader/capi")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -buildmode=c-shared: %w\n%s", err, b)
	}
	return out, nil
}
