package pageout

import (
	"errors"
	"syscall"
)

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the range's pages now. The syscall
// package does not name it.
const madvPageout = 21

// release asks the kernel to reclaim m's resident pages; on kernels before 5.4, which refuse
// MADV_PAGEOUT, it unmaps them from the process with MADV_DONTNEED instead, which for a
// mapping that was never written means the same: the next access reads the file again.
func release(m mapping) error {
	err := madvise(m, madvPageout)
	if errors.Is(err, syscall.EINVAL) {
		err = madvise(m, syscall.MADV_DONTNEED)
	}
	return err
}

func madvise(m mapping, advice uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, advice); e != 0 {
		return e
	}
	return nil
}
