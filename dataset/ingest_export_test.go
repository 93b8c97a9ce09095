package dataset

// SetTaskRows sets taskRows for a test and returns the function that
// restores it.
func SetTaskRows(n int64) (restore func()) {
	old := taskRows
	taskRows = n
	return func() { taskRows = old }
}
