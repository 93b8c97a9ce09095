"""The reference PyTorch trainer of Supplyline.

It is started by a launcher (torchrun locally, SageMaker there) with a job
spec (train.JobSpec, as JSON), reads its batches through the Go loader's C ABI
and writes checkpoints in the layout of train/checkpoint.go.
"""
