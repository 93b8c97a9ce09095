// Package local is the train.Launcher that runs the trainer with torchrun on
// this host: N CPU processes (two by default) that rendezvous over gloo or,
// where New finds NVIDIA GPUs, one process per GPU on CUDA with NCCL
// (SUPPLYLINE_DEVICE=cuda; see Options.NProcPerNode).
//
// Each job lives in a directory of its own, Root/<id>, where id is the first
// 16 hex digits of the SHA-256 of the idempotency key. The directory holds
// everything the launcher knows about the job, so that a worker that crashed
// and restarted can find it again with nothing but the key:
//
//	spec.json            the train.JobSpec the trainer reads (--spec)
//	supplyline_trainer/  the embedded trainer (train/pytrainer), on PYTHONPATH
//	job.json             key, pid, process group, start time and argv
//	log                  stdout and stderr of torchrun and every rank
//	exit_code            torchrun's exit status, written when it ends
//	stopped              present when Stop was asked for
//
// The job runs detached from the worker: a shell in a session of its own runs
// torchrun and records its exit status, so the job outlives the worker and
// its result is read from the directory, never from a Wait. Describe tells a
// live job from an ended one by its process group, and guards against PID
// reuse with the leader's start time from /proc.
//
// Submits that share a Root are serialised by a lock file, Root/.submit.lock
// (flock), which makes both the idempotency check and the capacity limit
// (Options.MaxConcurrent) hold across goroutines and processes.
//
// torchrun is started with --rdzv_endpoint=localhost:0, so concurrent jobs
// never share a rendezvous port, and with --redirects/--tee set to a no-op
// mapping, without which Debian's torch 1.13 on Python 3.11 fails before
// starting any rank (see launch).
package local
