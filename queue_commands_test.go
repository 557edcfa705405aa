package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/resettest"
)

// mustSeedQueue stores jobs in the bolt file of the config at path, as a running resetgate
// would have left them.
func mustSeedQueue(t *testing.T, path string, jobs ...reset.Job) {
	t.Helper()
	s, err := bolt.Open(filepath.Join(filepath.Dir(path), "data", stateFile), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("bolt.Open() = %v", err)
	}
	defer s.Close()
	for _, j := range jobs {
		if err := s.Enqueue(t.Context(), j); err != nil {
			t.Fatalf("Enqueue(%q) = %v", j.ID, err)
		}
	}
}

func TestQueueRetryRevivesDeadJob(t *testing.T) {
	users := sqliteUsers(t, "old-password-1")
	path := writeConfig(t, users, echoApp(t).URL, "")
	// The data directory exists once a command has opened the store.
	if code, out, errOut := cli(t, env(), "", "queue", "-config", path, "list"); code != 0 {
		t.Fatalf("queue list = %d %s %s", code, out, errOut)
	}
	now := time.Now()
	dead := reset.Job{ID: resettest.NewJobID(now), Kind: reset.JobReset, Email: "alice@example.com", CreatedAt: now,
		Attempts: 10, LastError: "550 mailbox unavailable", Dead: true, DeadAt: now}
	sending := reset.Job{ID: resettest.NewJobID(now), Kind: reset.JobReset, Email: "bob@example.com", CreatedAt: now,
		LeasedUntil: now.Add(time.Hour), LeasedBy: "worker-1"}
	mustSeedQueue(t, path, dead, sending)

	if code, _, errOut := cli(t, env(), "", "queue", "-config", path, "retry", sending.ID); code == 0 || !strings.Contains(errOut, "being sent") {
		t.Errorf("queue retry of a job being sent = %d %s, want a refusal", code, errOut)
	}
	code, out, errOut := cli(t, env(), "", "queue", "-config", path, "retry", "all")
	if code != 0 || !strings.Contains(out, "1 job(s) due now") {
		t.Fatalf("queue retry all = %d %s %s, want the dead job only", code, out, errOut)
	}
	code, out, _ = cli(t, env(), "", "queue", "-config", path, "list")
	if code != 0 || strings.Contains(out, "given up") || !strings.Contains(out, "sending") || !strings.Contains(out, "2 job(s)") {
		t.Errorf("queue list after retry = %d:\n%s\nwant the revived job waiting and the other sending", code, out)
	}
}

func TestQueueMetricsCount(t *testing.T) {
	store := resettest.NewMemStore()
	now := time.Now()
	for i, j := range []reset.Job{
		{Kind: reset.JobReset},
		{Kind: reset.JobReset, NotBefore: now.Add(time.Hour)},
		{Kind: reset.JobReset, Dead: true, DeadAt: now},
	} {
		j.ID, j.CreatedAt = resettest.NewJobID(now.Add(time.Duration(i))), now
		if err := store.Enqueue(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	tok := reset.Token{ID: "t1", UserID: "1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := store.SaveToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	m := newMetrics(&app{store: store})
	got := gather(t, m.reg)
	for name, want := range map[string]float64{
		"resetgate_queue_depth":                 2,
		"resetgate_queue_dead":                  1,
		`resetgate_queue_jobs{state="due"}`:     1,
		`resetgate_queue_jobs{state="delayed"}`: 1,
		`resetgate_queue_jobs{state="leased"}`:  0,
		"resetgate_tokens_pending":              1,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %t), want %v", name, v, ok, want)
		}
	}
}

// gather collects the registry's gauges as name{label="value"} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=\"" + l.GetValue() + "\"}"
			}
			if g := m.GetGauge(); g != nil {
				out[name] = g.GetValue()
			}
		}
	}
	return out
}
