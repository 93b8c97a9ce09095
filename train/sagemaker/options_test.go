package sagemaker

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{RoleARN: testRole, CodeS3URI: "s3://bucket/prefix"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("minimal options: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no role", func(o *Options) { o.RoleARN = "" }, "role_arn"},
		{"bad role", func(o *Options) { o.RoleARN = "SupplylineRole" }, "role_arn"},
		{"no code", func(o *Options) { o.CodeS3URI = "" }, "code_s3_uri"},
		{"local code", func(o *Options) { o.CodeS3URI = "/tmp/code" }, "code_s3_uri"},
		{"instance", func(o *Options) { o.InstanceType = "ml.g5.xlarge" }, "instance_type"},
		{"count", func(o *Options) { o.InstanceCount = -1 }, "instance_count"},
		{"wait without spot", func(o *Options) { o.MaxWait = time.Hour }, "max_wait"},
		{"wait below runtime", func(o *Options) { o.Spot, o.MaxRuntime, o.MaxWait = true, 2*time.Hour, time.Hour }, "max_wait"},
		{"wait below default runtime", func(o *Options) { o.Spot, o.MaxWait = true, time.Hour }, "max_wait"},
		{"fractional", func(o *Options) { o.MaxRuntime = 1500 * time.Millisecond }, "whole seconds"},
		{"retries", func(o *Options) { o.RetryAttempts = 31 }, "retry_attempts"},
		{"glibc", func(o *Options) { o.ImageGLIBC = "two" }, "image_glibc"},
		{"reserved tag", func(o *Options) { o.Tags = map[string]string{"supplyline:backend": "x"} }, "tags"},
		{"reserved env", func(o *Options) { o.Environment = map[string]string{envKey: "x"} }, "environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mutate(&o)
			err := o.Validate()
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrInvalidOptions naming %s", err, tc.want)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{RoleARN: testRole, CodeS3URI: "s3://b/p/", Spot: true}.withDefaults()
	if o.Backend != "sagemaker-trn1" || o.InstanceType != DefaultInstanceType || o.InstanceCount != 1 {
		t.Errorf("defaults %+v", o)
	}
	if o.MaxWait != 2*DefaultMaxRuntime || o.RetryAttempts != DefaultRetryAttempts {
		t.Errorf("max wait %s, retries %d", o.MaxWait, o.RetryAttempts)
	}
	if o.CheckpointS3URI != "s3://b/p/checkpoints" || o.NeuronCacheS3URI != "s3://b/p/neuron-cache/"+DefaultNeuronSDKVersion {
		t.Errorf("uris %s %s", o.CheckpointS3URI, o.NeuronCacheS3URI)
	}
	for typ, backend := range map[string]string{"ml.p5.48xlarge": "sagemaker-p5", "ml.trn1n.32xlarge": "sagemaker-trn1n", "ml.p4d.24xlarge": "sagemaker-p4d"} {
		if got := (Options{InstanceType: typ}).withDefaults().Backend; got != backend {
			t.Errorf("%s: backend %s, want %s", typ, got, backend)
		}
	}
}

func TestDefaultImage(t *testing.T) {
	gpu, err := DefaultImage("us-west-2", "ml.p5.48xlarge")
	if err != nil || gpu != "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:"+DefaultGPUImageTag {
		t.Errorf("gpu image %s, %v", gpu, err)
	}
	trn, err := DefaultImage("us-east-2", "ml.trn2.48xlarge")
	if err != nil || !strings.Contains(trn, "/pytorch-training-neuronx:") {
		t.Errorf("trainium image %s, %v", trn, err)
	}
	if _, err := DefaultImage("xx-nowhere-1", "ml.p5.48xlarge"); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("unknown region: %v", err)
	}
}
