//go:build !linux

package lowprio

// lower leaves the thread as it is: elsewhere a process-wide priority is all there is, and
// lowering it would slow the proxy too.
func lower() bool { return false }
