// Package tokenize turns canonical events into checksummed token shards.
//
// The pipeline inside the package is:
//
//	Render      events -> documents (grammar.go), split in time at a cutoff
//	Train       train documents -> byte-level BPE merges (our own trainer,
//	            deterministic: sugarme's trainer is not)
//	WriteTokenizer  vocab.json + merges.txt, the GPT-2 / sugarme / HF format,
//	            and tokenizer.json, HF tokenizers' single file
//	Tokenizer   Load + Encode/EncodeBatch/EncodeBatchInto/Decode, with a
//	            word cache read without locks (wordcache.go), id-for-id equal to
//	            HuggingFace tokenizers (BPE model, ByteLevel pre-tokenizer
//	            without prefix space), the authority (TestHFParity, against
//	            npm tokenizers@0.23.2 in hfpeer/); equal to sugarme/tokenizer
//	            v0.3.0 except where sugarme splits whitespace runs differently
//	            or merges equal-rank pairs out of order (bytelevel.go,
//	            TestSugarmeParity)
//	ShardWriter .bin/.idx shards (manifest.go)
//	Build       all of the above into a directory with manifest.json,
//	            streaming: events (in memory, or canonical Parquet day
//	            files through OpenCanonical) are partitioned by entity
//	            into spill files (spill.go) and rendered bucket by bucket
//	            on all cores (stream.go), BPE trains on word counts, and
//	            encoding reads the documents back a batch at a time, so
//	            memory does not grow with the input
//	OpenShards  the reader: verifies checksums and the tokenizer hash
//
// Byte-level ids: id b (0..255) is the single byte b, written in vocab.json
// as its GPT-2 byte-to-unicode character; merges follow in rank order, then
// the special tokens (SpecialTokens) last.
//
// The package does not import Temporal; activities wrap Build.
package tokenize
