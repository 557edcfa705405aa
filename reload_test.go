package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSIGHUPReloadsSettings(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	p := startProcess(t, config)
	b := newBrowser(t, p.base)
	b.expect("POST", "/pwreset", "email=a%40example.com", 303, "/pwreset/sent")

	// Tighten the per-IP limit and change a structural key, then SIGHUP.
	old, _ := os.ReadFile(config)
	updated := strings.Replace(string(old), `upstream = "`, `upstream = "http://127.0.0.1:1`+`" # was "`, 1)
	updated = strings.Replace(updated, "[admin]", "[limits]\nper_ip = \"2/hour\"\n[admin]", 1)
	if err := os.WriteFile(config, []byte(updated), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.log.waitLog(t, "reload: config applied", 1)
	warn := p.log.waitLog(t, "reload: these settings changed but take effect only after a restart", 1)
	if !strings.Contains(warn["keys"].(string), "upstream") {
		t.Errorf("reload warning names %v, want upstream", warn["keys"])
	}
	b.expect("POST", "/pwreset", "email=a%40example.com", 303, "/pwreset/sent")
	if resp, _ := b.do("POST", "/pwreset", "email=a%40example.com"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after the reload the third request = %d, want 429 (per_ip 2/hour)", resp.StatusCode)
	}
	// The upstream did not change under the running server.
	if resp, _ := b.do("GET", "/anything", ""); resp.StatusCode != 200 {
		t.Errorf("proxied request after reload = %d, want 200 from the original upstream", resp.StatusCode)
	}

	// A broken file keeps the running settings.
	os.WriteFile(config, []byte("this is not toml ["), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.log.waitLog(t, "reload: config file has problems; running settings kept", 1)
	if resp, _ := b.do("GET", "/pwreset", ""); resp.StatusCode != 200 {
		t.Errorf("after a failed reload GET /pwreset = %d", resp.StatusCode)
	}
}

// An operator under attack turns the request form's challenge on without a restart (issue
// 16, finding 9), and off again.
func TestSIGHUPTurnsChallengeOn(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	p := startProcess(t, config)
	b := newBrowser(t, p.base)
	old, _ := os.ReadFile(config)
	on := strings.Replace(string(old), "[admin]", "[abuse]\nchallenge = \"always\"\n[admin]", 1)
	for i, body := range []string{on, string(old)} {
		if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		p.cmd.Process.Signal(syscall.SIGHUP)
		p.log.waitLog(t, "reload: config applied", i+1)
		want := i == 0
		_, page := b.do("GET", "/pwreset", "")
		if got := strings.Contains(page, "data-pow="); got != want {
			t.Errorf("reload %d: the form asks for a proof of work = %t, want %t", i+1, got, want)
		}
		resp, _ := b.do("POST", "/pwreset", "email=a%40example.com")
		if want && resp.StatusCode != http.StatusBadRequest || !want && resp.StatusCode != http.StatusSeeOther {
			t.Errorf("reload %d: an unsolved request = %d", i+1, resp.StatusCode)
		}
	}
}

// writeCert writes a fresh self-signed certificate for 127.0.0.1 and returns its serial.
func writeCert(t *testing.T, certFile, keyFile string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "resetgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return serial
}

func TestTLSListenerAndCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile)
	users := sqliteUsers(t, "old-password-1")
	config := writeConfig(t, users, echoApp(t).URL, "")
	cfg, _ := os.ReadFile(config)
	os.WriteFile(config, []byte("tls_cert = \""+certFile+"\"\ntls_key = \""+keyFile+"\"\n"+string(cfg)), 0o600)
	p := startProcess(t, config)
	addr := strings.TrimPrefix(p.base, "http://")

	serial := func(maxVersion uint16) (*big.Int, error) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber, nil
	}
	if got, err := serial(0); err != nil || got.Cmp(first) != 0 {
		t.Fatalf("serial = %v, %v; want %v", got, err, first)
	}
	if _, err := serial(tls.VersionTLS11); err == nil {
		t.Errorf("a TLS 1.1 client was accepted; want TLS 1.2 at least")
	}
	second := writeCert(t, certFile, keyFile)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.log.waitLog(t, "reload: TLS certificate reloaded", 1)
	if got, err := serial(0); err != nil || got.Cmp(second) != 0 {
		t.Errorf("after SIGHUP serial = %v, %v; want the renewed certificate %v", got, err, second)
	}
}
