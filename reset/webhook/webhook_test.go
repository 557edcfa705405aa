package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
	"resetgate/reset/webhook"
)

var secret = []byte("0123456789abcdef-test-secret")

type noHashers struct{}

func (noHashers) For(string, string) (reset.Hasher, error) { return nil, errors.New("not used") }

// receiver is an app's webhook endpoint: it verifies every request as docs/hooks.md tells
// receivers to, and answers with the statuses it is given, then 204.
type receiver struct {
	t        *testing.T
	now      func() time.Time
	mu       sync.Mutex
	statuses []int
	got      []webhook.Payload
	srv      *httptest.Server
}

func newReceiver(t *testing.T, now func() time.Time, statuses ...int) *receiver {
	rc := &receiver{t: t, now: now, statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader), rc.now(), webhook.DefaultTolerance); err != nil {
		rc.t.Errorf("receiver: Verify(%s) = %v", r.Header.Get(webhook.SignatureHeader), err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("receiver: %s with Content-Type %q, want a JSON POST", r.Method, r.Header.Get("Content-Type"))
	}
	var p webhook.Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		rc.t.Errorf("receiver: body %s: %v", body, err)
	}
	if r.Header.Get("X-Resetgate-Event") != string(p.Event) || r.Header.Get("X-Resetgate-Event-Id") != p.EventID {
		rc.t.Errorf("receiver: event headers %q %q disagree with the body %s", r.Header.Get("X-Resetgate-Event"), r.Header.Get("X-Resetgate-Event-Id"), body)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, p)
	status := http.StatusNoContent
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
}

func (rc *receiver) payloads() []webhook.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhook.Payload(nil), rc.got...)
}

type fixture struct {
	svc   *reset.Service
	store *resettest.MemStore
	clock *resettest.Clock
	log   *strings.Builder
	logMu *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newFixture(t *testing.T, rc *receiver, clock *resettest.Clock, attempts int, timeout time.Duration) *fixture {
	t.Helper()
	f := &fixture{store: resettest.NewMemStore(), clock: clock, log: new(strings.Builder), logMu: new(sync.Mutex)}
	sender, err := webhook.New(webhook.Options{URLs: map[reset.HookEvent]string{reset.HookWasntMe: rc.srv.URL + "/internal/wasnt-me?k=v"},
		Secret: secret, Timeout: timeout, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = reset.New(reset.Options{
		Languages: resettest.Languages(),
		Users:     resettest.NewUsers(reset.User{ID: "42", Email: "ada@example.com", PasswordHash: "x"}), Store: f.store,
		Mailer: resettest.NewMailer(), Hashers: noHashers{}, PublicURL: "https://app.example", Now: clock.Now,
		Hooks: sender, HookAttempts: attempts, JobTimeout: time.Minute,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{f.logMu, f.log}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) logText() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.String()
}

// enqueue queues a wasnt_me webhook as a confirmation does.
func (f *fixture) enqueue(t *testing.T) reset.Job {
	t.Helper()
	now := f.clock.Now()
	j := reset.Job{ID: reset.NewJobID(now), Kind: reset.JobHookWasntMe, UserID: "42", ClientIP: "198.51.100.7", CreatedAt: now, NotBefore: now}
	if err := f.store.Enqueue(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) jobs(t *testing.T) []reset.Job {
	t.Helper()
	js, err := f.store.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestDeliveryRetriesAfterA500(t *testing.T) {
	clock := resettest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rc := newReceiver(t, clock.Now, http.StatusInternalServerError)
	f := newFixture(t, rc, clock, 8, 0)
	j := f.enqueue(t)

	if !f.svc.ProcessOne(context.Background()) {
		t.Fatal("ProcessOne found no job")
	}
	js := f.jobs(t)
	if len(js) != 1 || js[0].Attempts != 1 || js[0].Dead || !js[0].NotBefore.After(clock.Now()) {
		t.Fatalf("after a 500: jobs = %+v, want the webhook rescheduled after one attempt", js)
	}
	if !strings.Contains(js[0].LastError, "500") || strings.Contains(js[0].LastError, "k=v") {
		t.Errorf("LastError = %q, want the status, without the URL's query", js[0].LastError)
	}
	if !strings.Contains(f.logText(), `"msg":"webhook failed; will retry"`) {
		t.Errorf("no log line for the failure:\n%s", f.logText())
	}
	if f.svc.ProcessOne(context.Background()) {
		t.Fatal("the webhook was retried before its backoff ended")
	}
	clock.Advance(time.Hour)
	if !f.svc.ProcessOne(context.Background()) {
		t.Fatal("the webhook was not retried after its backoff")
	}
	if js := f.jobs(t); len(js) != 0 {
		t.Fatalf("after a 204: jobs = %+v, want none", js)
	}
	got := rc.payloads()
	want := webhook.Payload{Event: reset.HookWasntMe, EventID: j.ID, AccountID: "42", Time: j.CreatedAt, ClientIP: "198.51.100.7"}
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("the receiver got %+v, want %+v twice (one event id for both attempts)", got, want)
	}
}

func TestDeliveryGivesUpAsConfigured(t *testing.T) {
	clock := resettest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rc := newReceiver(t, clock.Now, 503, 503, 503, 503, 503)
	f := newFixture(t, rc, clock, 3, 0)
	f.enqueue(t)
	for range 6 {
		f.svc.ProcessOne(context.Background())
		clock.Advance(2 * time.Hour)
	}
	if n := len(rc.payloads()); n != 3 {
		t.Errorf("the receiver was called %d times, want 3 (max_attempts)", n)
	}
	js := f.jobs(t)
	if len(js) != 1 || !js[0].Dead || js[0].Attempts != 3 {
		t.Fatalf("jobs = %+v, want the webhook given up after 3 attempts", js)
	}
	if !strings.Contains(f.logText(), `"msg":"webhook given up"`) {
		t.Errorf("no log line for giving up:\n%s", f.logText())
	}
}

func TestDeliveryFailsForGood(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   string
	}{
		{"redirect not followed", http.StatusTemporaryRedirect, "redirects are not followed"},
		{"not found", http.StatusNotFound, "refused it with 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := resettest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			rc := newReceiver(t, clock.Now, tc.status)
			f := newFixture(t, rc, clock, 8, 0)
			f.enqueue(t)
			f.svc.ProcessOne(context.Background())
			if n := len(rc.payloads()); n != 1 {
				t.Errorf("the receiver was called %d times, want 1 (the redirect's target not at all)", n)
			}
			js := f.jobs(t)
			if len(js) != 1 || !js[0].Dead || !strings.Contains(js[0].LastError, tc.want) {
				t.Fatalf("jobs = %+v, want the webhook given up at once saying %q", js, tc.want)
			}
		})
	}
}

func TestDeliveryTimesOut(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	sender, err := webhook.New(webhook.Options{URLs: map[reset.HookEvent]string{reset.HookPasswordChanged: slow.URL}, Secret: secret, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Deliver(context.Background(), reset.Hook{Event: reset.HookPasswordChanged, ID: "e1", UserID: "42", At: time.Now()})
	if err == nil || errors.Is(err, reset.ErrHookRejected) || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("Deliver to a receiver that never answers = %v, want a retryable timeout", err)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(1767323045, 0)
	body := []byte(`{"event":"wasnt_me"}`)
	sig := webhook.Sign(secret, body, at)
	if !strings.HasPrefix(sig, "t=1767323045,v1=") || len(sig) != len("t=1767323045,v1=")+64 {
		t.Fatalf("Sign = %q, want t=<unix>,v1=<64 hex>", sig)
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		body   string
		header string
		now    time.Time
		want   error
	}{
		{"genuine", secret, string(body), sig, at.Add(time.Minute), nil},
		{"body changed", secret, `{"event":"wasnt_me "}`, sig, at, webhook.ErrBadSignature},
		{"other secret", []byte("another-secret-of-16+"), string(body), sig, at, webhook.ErrBadSignature},
		{"time changed", secret, string(body), strings.Replace(sig, "t=1767323045", "t=1767323046", 1), at, webhook.ErrBadSignature},
		{"replayed later", secret, string(body), sig, at.Add(6 * time.Minute), webhook.ErrStale},
		{"no signature", secret, string(body), "", at, webhook.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify(tc.secret, []byte(tc.body), tc.header, tc.now, webhook.DefaultTolerance); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    webhook.Options
	}{
		{"short secret", webhook.Options{URLs: map[reset.HookEvent]string{reset.HookWasntMe: "http://127.0.0.1:5000/x"}, Secret: []byte("short")}},
		{"no URL", webhook.Options{Secret: secret}},
		{"relative URL", webhook.Options{URLs: map[reset.HookEvent]string{reset.HookWasntMe: "/x"}, Secret: secret}},
		{"ftp", webhook.Options{URLs: map[reset.HookEvent]string{reset.HookWasntMe: "ftp://h/x"}, Secret: secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := webhook.New(tc.o); err == nil {
				t.Errorf("New(%+v) = nil error", tc.o)
			}
		})
	}
}
