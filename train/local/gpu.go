package local

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// DeviceEnv names the variable that tells the trainer which device to use
// (see train.py's select_device: cpu, cuda, xla or auto).
const DeviceEnv = "SUPPLYLINE_DEVICE"

// nvidiaDev matches the device node of one NVIDIA GPU (not nvidiactl,
// nvidia-uvm and the like).
var nvidiaDev = regexp.MustCompile(`^nvidia[0-9]+$`)

// detectGPUs returns the number of NVIDIA GPUs on this host: the "GPU n:"
// lines of `nvidia-smi -L` when smi runs and lists any, else the number of
// /dev/nvidiaN nodes under devDir (a container may have the nodes without
// nvidia-smi). Zero means none, or none found.
func detectGPUs(devDir string, smi func() ([]byte, error)) int {
	if smi != nil {
		if out, err := smi(); err == nil {
			n := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if strings.HasPrefix(strings.TrimSpace(sc.Text()), "GPU ") {
					n++
				}
			}
			if n > 0 {
				return n
			}
		}
	}
	ents, err := os.ReadDir(devDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if nvidiaDev.MatchString(e.Name()) {
			n++
		}
	}
	return n
}

// nvidiaSMI runs `nvidia-smi -L`, giving it a few seconds.
func nvidiaSMI() ([]byte, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, "-L").Output()
}

// hostGPUs is what New uses to count the GPUs that ranks on this host can use.
var hostGPUs = func() int { return visibleGPUs(detectGPUs("/dev", nvidiaSMI), os.LookupEnv) }

// visibleGPUs narrows a GPU count to CUDA_VISIBLE_DEVICES when it is set
// (as CUDA reads it: a comma-separated list that ends at the first
// negative entry; empty hides every GPU).
func visibleGPUs(n int, lookup func(string) (string, bool)) int {
	v, ok := lookup("CUDA_VISIBLE_DEVICES")
	if !ok {
		return n
	}
	seen := 0
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "-") {
			break
		}
		seen++
	}
	return min(n, seen)
}

// rankPlan returns the number of ranks to start and the device environment
// to give them. Options.NProcPerNode wins; else, with GPUs, one rank per GPU;
// else the spec's world size; else DefaultNProcPerNode. With GPUs the ranks
// get SUPPLYLINE_DEVICE=cuda, unless the worker's environment already sets
// SUPPLYLINE_DEVICE (Options.ExtraEnv, added after, may override it too).
func rankPlan(optNProc, specWorld, gpus int, workerDevice string) (int, []string) {
	nproc := optNProc
	if nproc == 0 && gpus > 0 {
		nproc = gpus
	}
	if nproc == 0 {
		nproc = specWorld
	}
	if nproc == 0 {
		nproc = DefaultNProcPerNode
	}
	var env []string
	if gpus > 0 && workerDevice == "" {
		env = append(env, DeviceEnv+"=cuda")
	}
	return nproc, env
}
