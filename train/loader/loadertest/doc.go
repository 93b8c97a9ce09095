// Package loadertest writes small token shard directories in the layout of
// tokenize.Manifest, for tests of the loader, the trainer and the launchers
// that must not depend on the real tokenizer.
package loadertest
