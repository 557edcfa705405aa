package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"go/build"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MailpitServer is a real Mailpit SMTP server with its HTTP API, started for one test by
// [Mailpit] and killed when the test ends. Its mailbox lives in the test's temporary directory.
type MailpitServer struct {
	smtpHost string
	smtpPort int
	api      string // http://127.0.0.1:port
	pool     *x509.CertPool
	client   *http.Client
}

// MailpitOption configures the server [Mailpit] starts.
type MailpitOption func(*mailpitConfig)

type mailpitConfig struct {
	tls                string // "", "starttls" or "tls"
	username, password string
	smtpPort           int // 0: any free port
}

// MailpitSTARTTLS makes the server offer STARTTLS with a self-signed certificate generated for
// the test, and refuse mail without it (--smtp-require-starttls). [MailpitServer.CertPool]
// trusts the certificate. It names the IP addresses 127.0.0.1 and ::1 only, so a client that
// connects to "localhost" sees a host-name mismatch, which tests of certificate checks use.
func MailpitSTARTTLS() MailpitOption { return func(c *mailpitConfig) { c.tls = "starttls" } }

// MailpitImplicitTLS makes the server speak TLS from the first byte (--smtp-require-tls, as on
// port 465) with the same kind of generated certificate as [MailpitSTARTTLS].
func MailpitImplicitTLS() MailpitOption { return func(c *mailpitConfig) { c.tls = "tls" } }

// MailpitAuth makes the server require SMTP AUTH with exactly these credentials, which must not
// contain white space (Mailpit splits its password file on it) or a colon in the username.
// Without a TLS option, plain-text PLAIN/LOGIN is allowed (--smtp-auth-allow-insecure), which
// go-mail only uses towards localhost.
func MailpitAuth(username, password string) MailpitOption {
	return func(c *mailpitConfig) { c.username, c.password = username, password }
}

// MailpitSMTPPort makes the server take SMTP on this loopback port, for tests of a client
// that was pointed at the port before anything listened there.
func MailpitSMTPPort(port int) MailpitOption { return func(c *mailpitConfig) { c.smtpPort = port } }

// MailAddress is an address as Mailpit's API reports it.
type MailAddress struct {
	Name    string
	Address string
}

// Summary is one message in Mailpit's message list (GET /api/v1/messages).
type Summary struct {
	ID        string // Mailpit's database id, for [MailpitServer.Message]
	MessageID string // the Message-ID header, without angle brackets
	From      MailAddress
	// To and Cc are the header recipients. Bcc holds every envelope recipient that appears in
	// no header, so an empty Bcc means the envelope had no hidden recipient.
	To, Cc, Bcc, ReplyTo []MailAddress
	Subject              string
	Created              time.Time
	Username             string // the SMTP AUTH user, if any
	Size                 int
	Snippet              string
}

// Detail is one message in full (GET /api/v1/message/{ID}, …/headers and …/raw).
type Detail struct {
	ID, MessageID        string
	From                 MailAddress
	To, Cc, Bcc, ReplyTo []MailAddress
	ReturnPath           string // the envelope sender
	Subject              string
	Date                 time.Time
	Username             string
	Text, HTML           string              // the decoded text and HTML parts
	Headers              map[string][]string // every header, decoded, keyed by canonical name
	Raw                  []byte              // the message as received
}

// Mailpit starts a Mailpit server (the `mailpit` binary on PATH, in $GOPATH/bin, or named by
// TEST_MAILPIT_BIN) on free loopback ports for SMTP and HTTP, waits until both answer and kills
// it when the test ends. A missing binary is handled by [Need]: a skip, or a failure in CI.
// Install it with `go install github.com/axllent/mailpit@v1.33.1`.
func Mailpit(t testing.TB, opts ...MailpitOption) *MailpitServer {
	t.Helper()
	bin, err := mailpitBinary()
	Need(t, "mailpit (go install github.com/axllent/mailpit@v1.33.1)", err)
	var cfg mailpitConfig
	for _, o := range opts {
		o(&cfg)
	}

	dir := t.TempDir()
	mp := &MailpitServer{smtpHost: "127.0.0.1", client: &http.Client{Timeout: 10 * time.Second}}
	var extra []string
	if cfg.tls != "" {
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		pool, err := writeSelfSigned(certFile, keyFile)
		if err != nil {
			t.Fatalf("mailpit: generate certificate: %v", err)
		}
		mp.pool = pool
		extra = append(extra, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile)
		if cfg.tls == "tls" {
			extra = append(extra, "--smtp-require-tls")
		} else {
			extra = append(extra, "--smtp-require-starttls")
		}
	}
	if cfg.username != "" {
		if strings.ContainsAny(cfg.username, ": \t\r\n") || strings.ContainsAny(cfg.password, " \t\r\n") {
			t.Fatalf("mailpit: credentials %q cannot be written to a password file", cfg.username)
		}
		authFile := filepath.Join(dir, "smtp-auth")
		if err := os.WriteFile(authFile, []byte(cfg.username+":"+cfg.password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, "--smtp-auth-file", authFile)
		if cfg.tls == "" {
			extra = append(extra, "--smtp-auth-allow-insecure")
		}
	}

	// Free ports are found by binding :0 and letting go; another process can take one in
	// between, so a start that fails is retried on new ports.
	var lastErr error
	for attempt := range 3 {
		smtpPort, httpPort, err := freePorts()
		if err != nil {
			t.Fatalf("mailpit: find free ports: %v", err)
		}
		if cfg.smtpPort != 0 {
			smtpPort = cfg.smtpPort
		}
		args := append([]string{
			"--smtp", net.JoinHostPort(mp.smtpHost, strconv.Itoa(smtpPort)),
			"--listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
			"--database", filepath.Join(dir, fmt.Sprintf("mailpit-%d.db", attempt)),
			"--disable-version-check",
			"--smtp-disable-rdns",
		}, extra...)
		mp.smtpPort = smtpPort
		mp.api = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
		if lastErr = mp.start(t, bin, args); lastErr == nil {
			return mp
		}
	}
	t.Fatalf("mailpit did not start: %v", lastErr)
	return nil
}

// start runs the binary and waits for its HTTP API and SMTP port; on success the process is
// killed at the end of the test, on failure at once.
func (m *MailpitServer) start(t testing.TB, bin string, args []string) error {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// MP_* variables configure Mailpit too; only the flags above may.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return startDaemon(t, "mailpit", cmd, m.ready)
}

func (m *MailpitServer) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.api+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(m.smtpHost, strconv.Itoa(m.smtpPort)))
	if err != nil {
		return err
	}
	return c.Close()
}

// SMTPAddr returns where the SMTP server listens.
func (m *MailpitServer) SMTPAddr() (host string, port int) { return m.smtpHost, m.smtpPort }

// APIURL returns the base URL of the HTTP API and web UI, e.g. http://127.0.0.1:40123.
func (m *MailpitServer) APIURL() string { return m.api }

// CertPool returns a pool that trusts the server's generated certificate, or nil when it was
// started without a TLS option.
func (m *MailpitServer) CertPool() *x509.CertPool { return m.pool }

// Messages returns the messages in the mailbox, newest first.
func (m *MailpitServer) Messages(ctx context.Context) ([]Summary, error) {
	var list struct {
		Messages []Summary `json:"messages"`
	}
	if err := m.getJSON(ctx, "/api/v1/messages?limit=1000", &list); err != nil {
		return nil, err
	}
	return list.Messages, nil
}

// Message returns the message with Mailpit's id (a [Summary].ID): its parsed fields, every
// header and the raw bytes.
func (m *MailpitServer) Message(ctx context.Context, id string) (Detail, error) {
	var d Detail
	p := "/api/v1/message/" + url.PathEscape(id)
	if err := m.getJSON(ctx, p, &d); err != nil {
		return Detail{}, err
	}
	if err := m.getJSON(ctx, p+"/headers", &d.Headers); err != nil {
		return Detail{}, err
	}
	raw, err := m.get(ctx, p+"/raw")
	if err != nil {
		return Detail{}, err
	}
	d.Raw = raw
	return d, nil
}

// WaitMessages polls until the mailbox holds at least n messages and returns them, newest
// first. Without a deadline on ctx it gives up after 30 seconds.
func (m *MailpitServer) WaitMessages(ctx context.Context, n int) ([]Summary, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	for {
		msgs, err := m.Messages(ctx)
		if err == nil && len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d message(s) arrived", len(msgs))
			}
			return nil, fmt.Errorf("mailpit: waiting for %d message(s): %w (%v)", n, ctx.Err(), err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Delete empties the mailbox.
func (m *MailpitServer) Delete(ctx context.Context) error {
	_, err := m.do(ctx, http.MethodDelete, "/api/v1/messages")
	return err
}

func (m *MailpitServer) getJSON(ctx context.Context, path string, v any) error {
	b, err := m.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("mailpit: GET %s: %w", path, err)
	}
	return nil
}

func (m *MailpitServer) get(ctx context.Context, path string) ([]byte, error) {
	return m.do(ctx, http.MethodGet, path)
}

func (m *MailpitServer) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, m.api+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// mailpitBinary finds the mailpit executable: TEST_MAILPIT_BIN, then PATH, then each
// GOPATH's bin directory (where `go install` puts it).
func mailpitBinary() (string, error) {
	if p := os.Getenv("TEST_MAILPIT_BIN"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("mailpit not found on PATH or in $GOPATH/bin")
}

// freePorts returns two distinct TCP ports that were free on 127.0.0.1 a moment ago.
func freePorts() (int, int, error) {
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

// writeSelfSigned writes a fresh self-signed ECDSA certificate valid for 127.0.0.1 and ::1
// (deliberately not "localhost"), and returns a pool that trusts it.
func writeSelfSigned(certFile, keyFile string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "resetgate test SMTP"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
