// Package pytrainer carries the reference PyTorch trainer (the Python package
// supplyline_trainer) inside the Go binary, so that a launcher can write it
// next to a job wherever the worker runs.
//
// The package's modules:
//
//	train.py        the entry point (python -m supplyline_trainer.train --spec job.json)
//	loader.py       ctypes wrapper of the Go loader's C ABI (train/loader/capi)
//	model.py        the GPT of train.ModelConfig
//	safetensors.py  our own safetensors reader and writer
//
// A launcher copies FS into a job directory, builds the loader library (see
// train/loader/capi), writes the job spec and runs torchrun there; the
// command line and environment are in train.py's docstring.
package pytrainer
