// Package eval scores a trained checkpoint: Go-native inference over the
// trainer's safetensors, tasks behind one Task interface (replenish, with
// its operations-research references and a dynamic-programming optimum;
// multi-echelon, against echelon base-stock; next-event, held-out loss
// against unigram and bigram baselines), and the scorecard that gathers them.
// Tasks play every policy on common random numbers, in parallel, with
// results that do not depend on the number of cores.
//
// The model acts through the same text grammar it was trained on
// (tokenize.FormatHeader, tokenize.FormatDayPrompt): a task renders the
// decision state as a prompt and parses the digits the model emits. Demand in
// the simulators comes from dataset.DemandProcess, the process the synthetic
// world draws its training data from, so the task and the data agree; with
// ReplenishTaskForSeries the replenish task is one series of a generated
// world (its demand, lead time, costs and logged policy), and the agent's
// prompt starts with that series' logged days and asks, through the c7
// field, for the outcome its logged policy typically achieved. The
// multi-echelon agent (EchelonModelPolicy) applies the same single-item
// grammar stage by stage.
//
// Inference is pure Go (no cgo) and reproduces train/pytrainer's GPT to
// within 1e-4 in the logits; testdata/parity.py and TestParity check that
// against PyTorch whenever torch is installed.
//
// Nothing in this package imports Temporal; Evaluate returns a Scorecard and
// leaves storing it to the caller.
package eval
