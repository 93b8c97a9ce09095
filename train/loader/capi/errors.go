package main

import "errors"

// errBadHandle is the last error after a call with a handle that sl_open did
// not return or that sl_close released. Other errors are the loader's.
var errBadHandle = errors.New("capi: unknown loader handle")
