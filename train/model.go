package train

import (
	"errors"
	"fmt"
)

// ModelConfig is the shape of the GPT-style decoder. The PyTorch trainer
// (train/pytrainer) and Go inference (eval) both build the model from it, and
// it is stored in every checkpoint's state.json.
//
// The architecture, which both sides implement exactly:
//
//	x = wte[ids] + wpe[0..T)
//	for each layer i:  x = x + attn_i(ln_1_i(x));  x = x + mlp_i(ln_2_i(x))
//	logits = ln_f(x) @ wte^T            (lm_head tied to wte, written once)
//
// LayerNorm has weight and bias, eps 1e-5. Attention is causal multi-head
// with a fused qkv projection (c_attn, out 3*d: q, k, v in that order, heads
// split contiguously) and an output projection c_proj, scaled by 1/sqrt(head_dim).
// The MLP is c_fc (d to 4d), exact erf GELU, c_proj (4d to d). All linear
// layers have biases and store weight as [out, in] like torch.nn.Linear.
// No dropout.
//
// Tensor names in model.safetensors (float32, little-endian):
//
//	wte.weight [V, d]      wpe.weight [T, d]
//	h.{i}.ln_1.weight [d]  h.{i}.ln_1.bias [d]
//	h.{i}.attn.c_attn.weight [3d, d]  h.{i}.attn.c_attn.bias [3d]
//	h.{i}.attn.c_proj.weight [d, d]   h.{i}.attn.c_proj.bias [d]
//	h.{i}.ln_2.weight [d]  h.{i}.ln_2.bias [d]
//	h.{i}.mlp.c_fc.weight [4d, d]     h.{i}.mlp.c_fc.bias [4d]
//	h.{i}.mlp.c_proj.weight [d, 4d]   h.{i}.mlp.c_proj.bias [d]
//	ln_f.weight [d]  ln_f.bias [d]
type ModelConfig struct {
	// VocabSize is the tokenizer's vocabulary size, special tokens included.
	VocabSize int `json:"vocab_size"`
	// ContextLen is the longest sequence (T). Zero means 128.
	ContextLen int `json:"context_len"`
	// Layers is the number of transformer blocks. Zero means 2.
	Layers int `json:"layers"`
	// Heads is the number of attention heads. Zero means 4.
	Heads int `json:"heads"`
	// Dim is the model width d; a multiple of Heads. Zero means 64.
	Dim int `json:"dim"`
}

// WithDefaults returns c with zero fields set to their defaults (VocabSize has none).
func (c ModelConfig) WithDefaults() ModelConfig {
	if c.ContextLen == 0 {
		c.ContextLen = 128
	}
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.Heads == 0 {
		c.Heads = 4
	}
	if c.Dim == 0 {
		c.Dim = 64
	}
	return c
}

// Validate reports every problem at once; call it after WithDefaults.
func (c ModelConfig) Validate() error {
	var errs []error
	if c.VocabSize <= 0 {
		errs = append(errs, fmt.Errorf("vocab_size: must be positive, got %d", c.VocabSize))
	}
	if c.ContextLen <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Dim <= 0 {
		errs = append(errs, fmt.Errorf("context_len, layers, heads, dim: must be positive, got %d, %d, %d, %d", c.ContextLen, c.Layers, c.Heads, c.Dim))
	} else if c.Dim%c.Heads != 0 {
		errs = append(errs, fmt.Errorf("dim: %d is not a multiple of heads %d", c.Dim, c.Heads))
	}
	return errors.Join(errs...)
}
