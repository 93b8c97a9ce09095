package eval

import (
	"context"
	"fmt"
)

// NextEventTaskName is the scorecard name of the next-event task.
const NextEventTaskName = "next-event"

// NextEventTask scores next-token prediction on the validation split:
// held-out loss in bits per byte, perplexity and top-1 accuracy, against
// unigram and bigram baselines counted on the train split (HeldOutBPB). Its
// TaskResult states the model and the best baseline in bits per byte
// (lower is better), so a promotion rule can treat it like a cost.
type NextEventTask struct {
	// MaxTokens caps the target tokens scored, in manifest order. Zero
	// means 20000; negative means no cap.
	MaxTokens int `json:"max_tokens"`
	// Stride is HeldOutOptions.Stride. Zero means ContextLen/2.
	Stride int `json:"stride"`
}

// Name implements Task.
func (t NextEventTask) Name() string { return NextEventTaskName }

// Params implements Task.
func (t NextEventTask) Params() map[string]any {
	max := t.MaxTokens
	if max == 0 {
		max = 20000
	}
	return map[string]any{"max_tokens": max, "stride": t.Stride}
}

// Run implements Task. It needs the agent's LM, Tokenizer and ShardManifest.
func (t NextEventTask) Run(ctx context.Context, a Agent) (TaskResult, error) {
	if a.LM == nil || a.Tokenizer == nil || a.ShardManifest == "" {
		return TaskResult{}, fmt.Errorf("%w: the next-event task needs a model, a tokenizer and shards", ErrInvalidConfig)
	}
	h, err := HeldOutBPB(ctx, a.LM, a.Tokenizer, a.ShardManifest, HeldOutOptions{MaxTokens: t.MaxTokens, Stride: t.Stride})
	if err != nil {
		return TaskResult{}, err
	}
	res := TaskResult{
		Name: NextEventTaskName, Params: t.Params(), Unit: UnitBitsPerByte, NextEvent: &h,
		ModelPolicy: "model", ModelCost: h.BitsPerByte,
		BestBaseline: "unigram", BestBaselineCost: h.UnigramBitsPerByte,
	}
	if h.BigramBitsPerByte < h.UnigramBitsPerByte {
		res.BestBaseline, res.BestBaselineCost = "bigram", h.BigramBitsPerByte
	}
	if g := relGap(res.ModelCost, res.BestBaselineCost); g != nil {
		res.Gap = *g
	}
	return res, nil
}

var _ Task = NextEventTask{}
