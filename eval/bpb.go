package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/supplyline/supplyline/tokenize"
)

// LogitModel is what held-out scoring needs of a model; *Model has it.
type LogitModel interface {
	Logits(ids []int) [][]float32
	VocabSize() int
	ContextLen() int
}

// HeldOutOptions tune HeldOutBPB.
type HeldOutOptions struct {
	// MaxTokens caps the target tokens scored, in manifest order. Zero means
	// 20000; negative means no cap.
	MaxTokens int
	// Stride is how far a window moves along a document longer than the
	// context; each new window scores only the targets its predecessor did
	// not, so every target but the first window's sees at least
	// ContextLen-Stride tokens of context. Zero means ContextLen/2.
	Stride int
}

// HeldOut is the model's loss on the validation split in bits per byte,
// next to unigram and bigram baselines on the very same targets and
// denominator, with per-token perplexity and top-1 accuracy for all three.
type HeldOut struct {
	// BitsPerByte is the model's total loss in bits over Bytes.
	BitsPerByte float64 `json:"bits_per_byte"`
	// UnigramBitsPerByte is the loss of token frequencies counted on the
	// train split, with add-one smoothing.
	UnigramBitsPerByte float64 `json:"unigram_bits_per_byte"`
	// BigramBitsPerByte is the loss of next-token frequencies given the
	// previous token, counted within the train split's documents, with
	// add-one smoothing: p(b|a) = (n(a,b)+1)/(n(a)+V).
	BigramBitsPerByte float64 `json:"bigram_bits_per_byte"`
	// Loss is the model's mean cross-entropy in nats per target token;
	// Perplexity, UnigramPerplexity and BigramPerplexity are exp of the
	// mean nats per token of each.
	Loss              float64 `json:"loss"`
	Perplexity        float64 `json:"perplexity"`
	UnigramPerplexity float64 `json:"unigram_perplexity"`
	BigramPerplexity  float64 `json:"bigram_perplexity"`
	// Top1Accuracy is the share of targets that are the model's most
	// likely token; UnigramTop1Accuracy and BigramTop1Accuracy the same for
	// the most frequent token and the most frequent follower of the
	// previous token (ties to the lower id).
	Top1Accuracy        float64 `json:"top1_accuracy"`
	UnigramTop1Accuracy float64 `json:"unigram_top1_accuracy"`
	BigramTop1Accuracy  float64 `json:"bigram_top1_accuracy"`
	// Tokens counts the scored targets (a document's DocEnd included).
	Tokens int64 `json:"tokens"`
	// Bytes counts the UTF-8 bytes of the decoded targets, special tokens excluded.
	Bytes int64 `json:"bytes"`
	// Docs counts the documents scored, the last possibly in part.
	Docs int64 `json:"docs"`
}

// HeldOutBPB scores model on the val split of the shard manifest at
// manifestPath (a directory or the manifest file). Each document
// (DocStart..DocEnd) is scored on its own: every token after the first is a
// target predicted from the tokens before it in the document. Shards are
// checked against their sha256 before use, and their vocabulary must be the
// model's; tokenize.OpenShards verifies the shards and the tokenizer files
// beside the manifest. The train split (for the unigram baseline) and the
// val split are read one after the other, never both at once.
func HeldOutBPB(ctx context.Context, model LogitModel, tok Tokenizer, manifestPath string, opts HeldOutOptions) (HeldOut, error) {
	var out HeldOut
	m, _, err := tokenize.ReadManifest(manifestPath)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	if m.VocabSize != model.VocabSize() {
		return out, fmt.Errorf("%w: shards have vocabulary %d, the model %d", ErrBadShard, m.VocabSize, model.VocabSize())
	}
	if len(m.Val) == 0 {
		return out, fmt.Errorf("%w: %s has no val shards", ErrBadShard, manifestPath)
	}
	maxTokens := int64(opts.MaxTokens)
	if maxTokens == 0 {
		maxTokens = 20000
	}
	ctxLen := model.ContextLen()
	stride := opts.Stride
	if stride <= 0 || stride >= ctxLen {
		stride = max(ctxLen/2, 1)
	}
	special := map[int]bool{}
	for _, id := range m.Special {
		special[id] = true
	}
	for _, s := range tokenize.SpecialTokens {
		if id, ok := tok.TokenID(s); ok {
			special[id] = true
		}
	}
	ng, err := countNgrams(ctx, manifestPath, m.VocabSize)
	if err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	val, err := readSplit(manifestPath, tokenize.SplitVal, m.VocabSize)
	if err != nil {
		return out, err
	}

	var nats, uniNats, biNats float64
	var hits, uniHits, biHits int64
	score := func(doc []int) {
		var text []int // the non-special targets scored, for the byte count
		next := 1      // the next target position
		for next < len(doc) && (maxTokens < 0 || out.Tokens < maxTokens) {
			end := min(len(doc), ctxLen)
			if next > 1 {
				end = min(len(doc), next+stride)
			}
			if maxTokens >= 0 {
				end = min(end, next+int(maxTokens-out.Tokens))
			}
			begin := max(0, end-ctxLen)
			logits := model.Logits(doc[begin:end])
			for p := next; p < end; p++ {
				target, prev := doc[p], doc[p-1]
				nats += logSumExp(logits[p-1-begin]) - float64(logits[p-1-begin][target])
				uniNats -= ng.logUnigram[target]
				biNats -= ng.logBigram(prev, target)
				if argmax(logits[p-1-begin]) == target {
					hits++
				}
				if ng.topUnigram == target {
					uniHits++
				}
				if ng.topBigram(prev) == target {
					biHits++
				}
				out.Tokens++
				if !special[target] {
					text = append(text, target)
				}
			}
			next = end
		}
		if len(text) > 0 {
			out.Bytes += int64(len(tok.Decode(text)))
		}
		out.Docs++
	}

	for i := 0; i < val.Docs() && (maxTokens < 0 || out.Tokens < maxTokens); i++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		raw := val.Doc(i)
		if len(raw) < 2 {
			continue
		}
		doc := make([]int, len(raw))
		for j, t := range raw {
			doc[j] = int(t)
		}
		score(doc)
	}
	if out.Bytes == 0 {
		return out, fmt.Errorf("%w: the val split has no scorable text", ErrBadShard)
	}
	out.BitsPerByte = nats / math.Ln2 / float64(out.Bytes)
	out.UnigramBitsPerByte = uniNats / math.Ln2 / float64(out.Bytes)
	out.BigramBitsPerByte = biNats / math.Ln2 / float64(out.Bytes)
	n := float64(out.Tokens)
	out.Loss = nats / n
	out.Perplexity = math.Exp(nats / n)
	out.UnigramPerplexity = math.Exp(uniNats / n)
	out.BigramPerplexity = math.Exp(biNats / n)
	out.Top1Accuracy = float64(hits) / n
	out.UnigramTop1Accuracy = float64(uniHits) / n
	out.BigramTop1Accuracy = float64(biHits) / n
	return out, nil
}

// readSplit reads one split of the shards at manifestPath, verified by
// tokenize.OpenShards, whose vocabulary must be vocab (every token is then
// below it).
func readSplit(manifestPath, name string, vocab int) (*tokenize.Split, error) {
	s, err := tokenize.OpenShards(manifestPath, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadShard, err)
	}
	if s.Manifest.VocabSize != vocab {
		return nil, fmt.Errorf("%w: shards have vocabulary %d, the model %d", ErrBadShard, s.Manifest.VocabSize, vocab)
	}
	return s.Split(name)
}

// ngrams are the unigram and bigram baselines, counted on the train split.
type ngrams struct {
	vocab      int
	logUnigram []float64        // log p(token), add-one smoothed
	topUnigram int              // the most frequent token
	pairs      map[uint64]int64 // n(a, b), key a<<32 | b
	rows       []int64          // n(a, .), pairs that start with a
	top        []int32          // the most frequent follower of a; -1 when a never leads
}

// logBigram is log p(b|a) = log((n(a,b)+1)/(n(a)+V)).
func (n *ngrams) logBigram(a, b int) float64 {
	return math.Log(float64(n.pairs[uint64(a)<<32|uint64(b)]+1)) - math.Log(float64(n.rows[a]+int64(n.vocab)))
}

// topBigram is the bigram's top-1 guess after a: its most frequent
// follower, or the most frequent token when a never leads a pair.
func (n *ngrams) topBigram(a int) int {
	if t := n.top[a]; t >= 0 {
		return int(t)
	}
	return n.topUnigram
}

// countNgrams counts tokens and, within each document, adjacent pairs on
// the train split, with add-one smoothing.
func countNgrams(ctx context.Context, manifestPath string, vocab int) (*ngrams, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	train, err := readSplit(manifestPath, tokenize.SplitTrain, vocab)
	if err != nil {
		return nil, err
	}
	n := &ngrams{vocab: vocab, pairs: map[uint64]int64{}, rows: make([]int64, vocab), top: make([]int32, vocab)}
	counts := make([]int64, vocab)
	for _, t := range train.Tokens {
		counts[t]++
	}
	for i := 0; i < train.Docs(); i++ {
		doc := train.Doc(i)
		for j := 1; j < len(doc); j++ {
			n.pairs[uint64(doc[j-1])<<32|uint64(doc[j])]++
			n.rows[doc[j-1]]++
		}
	}
	total := int64(len(train.Tokens))
	n.logUnigram = make([]float64, vocab)
	denom := math.Log(float64(total + int64(vocab)))
	for i, c := range counts {
		n.logUnigram[i] = math.Log(float64(c+1)) - denom
		if c > counts[n.topUnigram] {
			n.topUnigram = i
		}
	}
	best := make([]int64, vocab)
	for i := range n.top {
		n.top[i] = -1
	}
	for key, c := range n.pairs {
		a, b := int(key>>32), int32(key&0xffffffff)
		if c > best[a] || (c == best[a] && b < n.top[a]) {
			best[a], n.top[a] = c, b
		}
	}
	return n, nil
}

func logSumExp(v []float32) float64 {
	best := math.Inf(-1)
	for _, x := range v {
		best = math.Max(best, float64(x))
	}
	var s float64
	for _, x := range v {
		s += math.Exp(float64(x) - best)
	}
	return best + math.Log(s)
}
