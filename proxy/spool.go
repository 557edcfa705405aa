package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// memSpool is how much of a buffered body is kept in memory before it goes to a temp file.
const memSpool = 64 << 10

// spooled is a buffered request body: the bytes that arrived, in memory or in a temp file,
// then (when the body was longer than the buffer) the rest, still streaming from the client.
type spooled struct {
	io.Reader
	file *os.File // nil when the body fit in memory
	rest io.Closer
}

func (s *spooled) Close() error {
	var err error
	if s.file != nil {
		name := s.file.Name()
		err = errors.Join(s.file.Close(), os.Remove(name))
	}
	return errors.Join(err, s.rest.Close())
}

// buffer reads r's body before the request goes upstream, like nginx's
// proxy_request_buffering: the app's worker is taken only once the body is complete, so a
// slow client costs the proxy a goroutine and a buffer rather than an app worker. Up to
// memSpool bytes stay in memory, the rest up to max goes to a temp file in dir. A body with a
// Content-Length over max is not buffered; a chunked one that turns out longer than max is
// sent with what was buffered first and the rest streamed. A complete body is sent with a
// Content-Length. The error is the body's read error (the client went away or was too slow).
func buffer(r *http.Request, max int64, dir string) (*http.Request, error) {
	if r.ContentLength > max || r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	head := make([]byte, 0, min(memSpool, max+1))
	if r.ContentLength > 0 {
		head = make([]byte, 0, min(int64(memSpool), r.ContentLength+1))
	}
	head, err := fill(r.Body, head)
	s := &spooled{rest: r.Body}
	total := int64(len(head))
	complete := err == io.EOF
	switch {
	case complete:
		s.Reader = bytes.NewReader(head)
	case err != nil:
		return r, err
	default:
		f, ferr := os.CreateTemp(dir, "body-*")
		if ferr != nil {
			return r, fmt.Errorf("spool request body: %w", ferr)
		}
		s.file = f
		if _, werr := f.Write(head); werr != nil {
			s.Close()
			return r, fmt.Errorf("spool request body: %w", werr)
		}
		m, cerr := io.Copy(f, io.LimitReader(r.Body, max-total+1))
		total += m
		if cerr != nil {
			s.Close()
			return r, cerr
		}
		complete = total <= max
		if !complete {
			total = 0 // unknown: the rest streams
		}
		if _, serr := f.Seek(0, io.SeekStart); serr != nil {
			s.Close()
			return r, fmt.Errorf("spool request body: %w", serr)
		}
		s.Reader = f
	}
	out := *r
	if complete {
		out.ContentLength, out.TransferEncoding = total, nil
		out.Body = s
		return &out, nil
	}
	s.Reader = io.MultiReader(s.Reader, r.Body)
	out.ContentLength = -1
	out.Body = s
	return &out, nil
}

// fill reads into buf's spare capacity until it is full or the body ends; err is io.EOF
// only when the body ended (a truncated body's io.ErrUnexpectedEOF stays an error).
func fill(r io.Reader, buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
