package main

/*
#include <stdint.h>
#include <string.h>
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/supplyline/supplyline/train"
	"github.com/supplyline/supplyline/train/loader"
)

// main is required by -buildmode=c-shared and never runs.
func main() {}

type handle struct {
	mu sync.Mutex
	l  *loader.Loader
}

var (
	mu      sync.Mutex
	handles       = map[int64]*handle{}
	nextID  int64 = 1
	lastErr string
)

func setErr(err error) {
	mu.Lock()
	defer mu.Unlock()
	if err == nil {
		lastErr = ""
	} else {
		lastErr = err.Error()
	}
}

func lookup(h int64) (*handle, error) {
	mu.Lock()
	defer mu.Unlock()
	e, ok := handles[h]
	if !ok {
		return nil, fmt.Errorf("%w: %d", errBadHandle, h)
	}
	return e, nil
}

//export sl_open
func sl_open(manifest *C.char, seqLen, batch, rank, world, seed, epoch, position C.int64_t) C.int64_t {
	if manifest == nil {
		setErr(fmt.Errorf("%w: manifest path is NULL", loader.ErrInvalidOptions))
		return -1
	}
	l, err := loader.Open(C.GoString(manifest), loader.Options{
		SeqLen:    int(seqLen),
		BatchSize: int(batch),
		Rank:      int(rank),
		WorldSize: int(world),
		State:     train.LoaderState{Seed: int64(seed), Epoch: int64(epoch), Position: int64(position)},
	})
	if err != nil {
		setErr(err)
		return -1
	}
	mu.Lock()
	id := nextID
	nextID++
	handles[id] = &handle{l: l}
	lastErr = ""
	mu.Unlock()
	return C.int64_t(id)
}

//export sl_next
func sl_next(h C.int64_t, dst *C.int64_t, n C.int64_t) C.int {
	e, err := lookup(int64(h))
	if err != nil {
		setErr(err)
		return -1
	}
	if dst == nil || n < 0 {
		setErr(fmt.Errorf("%w: dst is NULL or n = %d", loader.ErrShortBuffer, n))
		return -1
	}
	// dst is C memory owned by the caller; Go only writes into it.
	buf := unsafe.Slice((*int64)(unsafe.Pointer(dst)), int(n))
	e.mu.Lock()
	err = e.l.Next(buf)
	e.mu.Unlock()
	setErr(err)
	if err != nil {
		return -1
	}
	return 0
}

//export sl_state
func sl_state(h C.int64_t, out4 *C.int64_t) C.int {
	e, err := lookup(int64(h))
	if err != nil {
		setErr(err)
		return -1
	}
	if out4 == nil {
		setErr(fmt.Errorf("%w: out4 is NULL", loader.ErrShortBuffer))
		return -1
	}
	e.mu.Lock()
	st := e.l.State()
	e.mu.Unlock()
	out := unsafe.Slice((*int64)(unsafe.Pointer(out4)), 4)
	out[0], out[1], out[2], out[3] = st.Seed, st.Epoch, st.Position, st.WorldSize
	setErr(nil)
	return 0
}

//export sl_last_error
func sl_last_error(buf *C.char, n C.int64_t) C.int64_t {
	mu.Lock()
	msg := lastErr
	mu.Unlock()
	if buf != nil && n > 0 {
		out := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
		k := copy(out[:n-1], msg)
		out[k] = 0
	}
	return C.int64_t(len(msg))
}

//export sl_close
func sl_close(h C.int64_t) C.int {
	mu.Lock()
	e, ok := handles[int64(h)]
	delete(handles, int64(h))
	mu.Unlock()
	if !ok {
		setErr(fmt.Errorf("%w: %d", errBadHandle, int64(h)))
		return -1
	}
	e.mu.Lock()
	err := e.l.Close()
	e.mu.Unlock()
	setErr(err)
	if err != nil {
		return -1
	}
	return 0
}
