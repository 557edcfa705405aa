package apphtml

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// ModifyResponse rewrites the app's answer to a GET of one of the paths when it is a 200
// text/html page: it decodes gzip, deflate or br, inserts the link, and sends the result as
// identity with a correct Content-Length. A strong ETag is dropped (the bytes differ from the
// app's); a weak one stays, so that conditional requests (If-None-Match, If-Modified-Since)
// keep working against the app and a 304 lets the browser reuse its rewritten copy. Anything
// else, and every page that cannot be rewritten with certainty, passes exactly as the app sent
// it. For HEAD, Content-Length and a strong ETag are dropped so that they do not contradict
// what a GET of the same page gets.
//
// It is meant for httputil.ReverseProxy.ModifyResponse. Responses of other paths return at
// the first check, before any allocation.
func (in *Injector) ModifyResponse(resp *http.Response) error {
	req := resp.Request
	if req == nil || !in.paths[req.URL.Path] || resp.StatusCode != http.StatusOK || !isHTML(resp.Header) {
		return nil
	}
	switch req.Method {
	case http.MethodHead:
		resp.Header.Del("Content-Length")
		dropStrongETag(resp.Header)
		return nil
	case http.MethodGet:
	default:
		return nil
	}
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if !decodable(enc) {
		in.untouched(req.URL.Path, errors.New("content encoding "+strconv.Quote(enc)+" is not one resetgate decodes"))
		return nil
	}
	if resp.ContentLength > in.maxBytes {
		in.untouched(req.URL.Path, ErrTooLarge)
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, in.maxBytes+1))
	if err != nil {
		return err // the body broke off: ReverseProxy answers with its error page
	}
	if int64(len(raw)) > in.maxBytes {
		// Too large after all: send what was read, then the rest, as the app sent it.
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(raw), resp.Body), resp.Body}
		in.untouched(req.URL.Path, ErrTooLarge)
		return nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	page, err := decode(enc, raw, in.maxBytes)
	if err != nil {
		in.untouched(req.URL.Path, err)
		return nil
	}
	snippet := in.snippet
	if in.language != nil {
		if s, ok := in.snippets[in.language(req)]; ok {
			snippet = s
		}
	}
	out, err := in.rewrite(page, snippet)
	if err != nil {
		in.untouched(req.URL.Path, err)
		return nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	h := resp.Header
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Del("Content-Encoding")
	h.Del("Content-MD5")
	h.Del("Accept-Ranges") // ranges of the app's bytes do not address these
	dropStrongETag(h)
	if in.language != nil {
		// The link's words follow the client's language (the switcher's cookie, else
		// Accept-Language): a shared cache must keep one copy per language.
		h.Add("Vary", "Accept-Language, Cookie")
	}
	return nil
}

func isHTML(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "text/html"
}

func dropStrongETag(h http.Header) {
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Del("ETag")
	}
}

func decodable(enc string) bool {
	switch enc {
	case "", "identity", "gzip", "x-gzip", "deflate", "br":
		return true
	}
	return false
}

// errTooLargeDecoded stops a small compressed body that inflates past the cap.
var errTooLargeDecoded = errors.New("the page is larger than the rewrite cap once decoded")

// decode undoes the content encoding, reading at most max bytes of output.
func decode(enc string, raw []byte, max int64) ([]byte, error) {
	var r io.Reader
	switch enc {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		r = zr
	case "deflate":
		// RFC 9110 §8.4.1.2: "deflate" is the zlib format; some servers send raw deflate.
		if zr, err := zlibReader(raw); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(raw))
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(raw))
	}
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > max {
		return nil, errTooLargeDecoded
	}
	return out, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func zlibReader(raw []byte) (io.Reader, error) { return zlib.NewReader(bytes.NewReader(raw)) }
