package lowprio

import "syscall"

// lower renices the calling thread: on Linux, PRIO_PROCESS with a thread id applies to that
// thread only (setpriority(2), "BUGS"), and lowering one's own priority needs no privilege.
func lower() bool {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), Nice) == nil
}
