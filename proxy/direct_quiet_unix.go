//go:build unix

package proxy

import (
	"errors"
	"net"
	"syscall"
)

// quiet reports whether nothing is waiting to be read on c and its peer has not closed it:
// one non-blocking peek (recv with MSG_PEEK|MSG_DONTWAIT), which leaves whatever is there in
// place. A connection that is not a socket is taken as quiet.
func quiet(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var buf [1]byte
	var n int
	var perr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: this is a look, not a read
	}); err != nil {
		return false
	}
	// EAGAIN: nothing there. n > 0: bytes no one asked for. n == 0 without an error: EOF.
	return n <= 0 && (errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK))
}
