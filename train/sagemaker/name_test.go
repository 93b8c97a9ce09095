package sagemaker

import (
	"regexp"
	"strings"
	"testing"
)

var sageMakerName = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func TestJobName(t *testing.T) {
	long := strings.Repeat("scheduled-nightly-retrain-", 6) + "2026-11-25T02:00:00Z/seg-0042/attempt-3"
	keys := []string{
		"nightly-2026-11-25/seg-0003",
		"nightly-2026-11-25/seg-0004",
		"a/b",
		"a-b",
		"////",
		"ünïcode wörkflow/seg-0001",
		long,
	}
	seen := map[string]string{}
	for _, k := range keys {
		for n := range 3 {
			name := jobName(k, n)
			if !sageMakerName.MatchString(name) {
				t.Errorf("jobName(%q, %d) = %q is not a SageMaker name", k, n, name)
			}
			if name != jobName(k, n) {
				t.Errorf("jobName(%q, %d) is not deterministic", k, n)
			}
			if prev, dup := seen[name]; dup {
				t.Errorf("%q and %q share the name %q", prev, k, name)
			}
			seen[name] = k
		}
	}
	if got := JobName("nightly-2026-11-25/seg-0003"); !strings.HasPrefix(got, "sl-nightly-2026-11-25-seg-0003-") {
		t.Errorf("readable part lost: %s", got)
	}
	if got := JobName(long); !strings.HasPrefix(got, "sl-scheduled-nightly") || !strings.Contains(got, "attempt-3-") {
		t.Errorf("a long key keeps both ends: %s", got)
	}
}

func TestWorkflowID(t *testing.T) {
	for _, tc := range []struct{ key, id, seg string }{
		{"nightly-2026-11-25/seg-0003", "nightly-2026-11-25", "seg-0003"},
		{"nightly/2026/seg-0003/attempt-2", "nightly/2026", "seg-0003"},
		{"free-form-key", "free-form-key", ""},
	} {
		if id, seg := workflowID(tc.key); id != tc.id || seg != tc.seg {
			t.Errorf("workflowID(%q) = %q, %q; want %q, %q", tc.key, id, seg, tc.id, tc.seg)
		}
	}
	if got := tagValue("wf#1 (nightly)/seg"); got != "wf_1 _nightly_/seg" {
		t.Errorf("tagValue: %q", got)
	}
}
