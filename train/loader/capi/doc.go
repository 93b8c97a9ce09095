// Command capi is the Go loader's C ABI, built as a shared library that the
// PyTorch trainer loads with ctypes:
//
//	go build -buildmode=c-shared -o libsupplyline_loader.so ./train/loader/capi
//
// The functions (all integers are int64_t unless noted):
//
//	int64_t sl_open(const char* manifest, int64_t seq_len, int64_t batch,
//	                int64_t rank, int64_t world, int64_t seed, int64_t epoch,
//	                int64_t position);
//	    Opens a loader (see loader.Open; zero seq_len, batch or world mean
//	    the loader's defaults). Returns a handle > 0, or <= 0 on error.
//	int     sl_next(int64_t h, int64_t* dst, int64_t n);
//	    Writes the next batch, batch*(seq_len+1) tokens, into dst, which
//	    the caller owns and which holds n values. 0 on success.
//	int     sl_state(int64_t h, int64_t* out4);
//	    Writes seed, epoch, position and world size into out4[0..4). 0 on success.
//	int64_t sl_last_error(char* buf, int64_t n);
//	    Copies the last error's message, NUL-terminated and truncated to
//	    n-1 bytes, into buf and returns its full length (0: no error).
//	int     sl_close(int64_t h);
//	    Releases the handle. 0 on success.
//
// Go memory is never handed to C: handles are integers into a map guarded by
// a mutex, and batches are written straight into the caller's buffer. Calls
// on one handle are serialised. The last error is process-wide (the Python
// caller holds the GIL across a call and its sl_last_error), and is cleared
// by every successful call.
package main
