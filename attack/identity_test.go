package attack

import (
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

// flaskApp is a real Flask app that answers with what it believes about the request: every
// header as Flask's request.headers reads it (werkzeug rebuilds them from the WSGI environ,
// so "Remote_User" comes back as "Remote-User") and the CGI variables that auth middleware
// reads (REMOTE_USER, SCRIPT_NAME).
const flaskApp = `import sys, json
from flask import Flask, request

app = Flask(__name__)

@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def whoami(path):
    return json.dumps({
        "headers": {k: v for k, v in request.headers.items()},
        "remote_user": request.environ.get("REMOTE_USER") or request.headers.get("Remote-User") or "",
        "script_name": request.environ.get("SCRIPT_NAME", ""),
    })

app.run("127.0.0.1", int(sys.argv[1]))
`

// mustStartFlask starts flaskApp on a free loopback port and returns its address.
func mustStartFlask(t *testing.T) string {
	t.Helper()
	py := needPython(t, "flask")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(py, "-c", flaskApp, strconv.Itoa(port))
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("flask did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// identityHeaders are the client-address, scheme and URL headers that PHP and Java client-IP
// helpers, Tornado's xheaders, Envoy setups and the common Flask "ReverseProxied" recipe
// believe, beyond the X-Forwarded-* family.
var identityHeaders = []string{
	"Client-IP", "Proxy-Client-IP", "WL-Proxy-Client-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr",
	"X-ProxyUser-Ip", "X-Original-Forwarded-For", "X-Envoy-External-Address", "X-Scheme", "X-Script-Name",
	"X-HTTP-Host-Override", "X-Original-URI",
}

// RQ-PRX-01, RQ-PRX-05: identity headers a client makes up never reach the app, nor does any
// header whose name has an underscore (WSGI and CGI servers merge "Remote_User" into
// REMOTE_USER / "Remote-User", which auth middleware believes), nor the names an operator adds
// in [proxy] strip_headers; ordinary headers still do. Checked against a real Flask app.
// Incidents: client-IP spoofing through Proxy-Client-IP/WL-Proxy-Client-IP in Java
// getClientIp helpers, X-Script-Name/X-Scheme with the Flask "ReverseProxied" snippet,
// "Remote_User" smuggled past proxies that block "Remote-User" (nginx's
// underscores_in_headers off exists for this; CVE-2016-5385 "httpoxy" for the CGI family).
func TestIdentityAndUnderscoreHeadersNeverReachTheApp(t *testing.T) {
	t.Parallel()
	addr := mustStartFlask(t)
	w := newWorld(t, setup{sqlite: true, conf: map[string]any{
		"upstream":            "http://" + addr,
		"proxy.strip_headers": []string{"X-Auth-User"},
	}})
	var req strings.Builder
	req.WriteString("GET /whoami HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n")
	for _, h := range identityHeaders {
		req.WriteString(h + ": 6.6.6.6\r\n")
	}
	req.WriteString("Remote_User: admin\r\nX_Auth_User: admin\r\nX-Auth-User: admin\r\nX-Kept: yes\r\n\r\n")
	resp := rawRequest(t, w.base, req.String())
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	var seen struct {
		Headers    map[string]string `json:"headers"`
		RemoteUser string            `json:"remote_user"`
		ScriptName string            `json:"script_name"`
	}
	if err := json.Unmarshal([]byte(body), &seen); err != nil {
		t.Fatalf("flask answered %q: %v", resp, err)
	}
	if seen.RemoteUser != "" {
		t.Errorf("the Flask app believes the remote user is %q", seen.RemoteUser)
	}
	for k, v := range seen.Headers {
		if strings.Contains(v, "6.6.6.6") || strings.Contains(v, "admin") {
			t.Errorf("the Flask app received %s: %q", k, v)
		}
	}
	if seen.Headers["X-Kept"] != "yes" {
		t.Errorf("an ordinary header was dropped: the app saw %v", seen.Headers)
	}
}
