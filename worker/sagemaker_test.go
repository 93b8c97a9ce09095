package worker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/supplyline/supplyline/train/sagemaker"
)

// The worker's --sagemaker file is a JSON list of launcher options with
// snake_case keys.
func TestSageMakerOptionsJSON(t *testing.T) {
	var opts []sagemaker.Options
	in := `[{"backend": "sagemaker-trn1", "instance_type": "ml.trn1.32xlarge", "role_arn": "arn:aws:iam::123456789012:role/sm",
	        "code_s3_uri": "s3://b/code", "spot": true, "max_runtime_ns": 3600000000000, "s3": {"endpoint": "http://127.0.0.1:7070", "path_style": true}}]`
	if err := json.Unmarshal([]byte(in), &opts); err != nil {
		t.Fatal(err)
	}
	o := opts[0]
	if o.Backend != "sagemaker-trn1" || o.RoleARN == "" || o.CodeS3URI != "s3://b/code" || !o.Spot || o.MaxRuntime != time.Hour || !o.S3.PathStyle {
		t.Errorf("parsed %+v", o)
	}
}
