package tracking

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// formTee copies at most a bounded prefix of a sign-in body as the app reads it. The app
// gets every byte as sent; nothing beyond the prefix is held.
type formTee struct {
	rc          io.ReadCloser
	contentType string
	max         int

	mu  sync.Mutex // the proxy's transport reads the body on its own goroutine
	buf []byte
	eof bool
}

// teeForm wraps the body of a sign-in POST whose type is a form; nil for any other.
func (t *Tracker) teeForm(r *http.Request) *formTee {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	f := &formTee{rc: r.Body, contentType: r.Header.Get("Content-Type"), max: t.o.MaxForm}
	r.Body = f
	return f
}

func (f *formTee) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	f.mu.Lock()
	if room := f.max - len(f.buf); room > 0 && n > 0 {
		f.buf = append(f.buf, p[:min(n, room)]...)
	}
	if errors.Is(err, io.EOF) {
		f.eof = true
	}
	f.mu.Unlock()
	return n, err
}

func (f *formTee) Close() error { return f.rc.Close() }

// snapshot returns what was read so far: whole if the body ended within the prefix; else the
// prefix, which [formField] reads only up to its last complete field.
func (f *formTee) snapshot() (formPrefix, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return formPrefix{data: bytes.Clone(f.buf), whole: f.eof && len(f.buf) < f.max}, f.contentType
}

type formPrefix struct {
	data  []byte
	whole bool
}

// formField returns the value of the named field in a form body prefix, or "" if the prefix
// does not hold it whole.
func formField(p formPrefix, contentType, field string) string {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	if mt == "multipart/form-data" {
		return multipartField(p.data, params["boundary"], field)
	}
	data := string(p.data)
	if !p.whole {
		// The last pair may be cut short: an address cut to a prefix could name someone else.
		i := strings.LastIndexByte(data, '&')
		if i < 0 {
			return ""
		}
		data = data[:i]
	}
	v, err := url.ParseQuery(data)
	if err != nil && len(v) == 0 {
		return ""
	}
	return v.Get(field)
}

// multipartField reads parts until the field; a part cut short by the prefix yields "".
func multipartField(data []byte, boundary, field string) string {
	if boundary == "" {
		return ""
	}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if part.FormName() != field || part.FileName() != "" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, 4096))
		if err != nil {
			return "" // cut short: not the whole value
		}
		// A part is complete only if the next boundary follows it.
		if _, err := mr.NextPart(); err != nil && !errors.Is(err, io.EOF) {
			return ""
		}
		return string(b)
	}
}
