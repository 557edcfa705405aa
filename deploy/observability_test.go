package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	dashboardFile = "observability/resetgate-dashboard.json"
	rulesFile     = "observability/resetgate-alerts.yml"
)

// Metric names in PromQL: resetgate's own and the Go and process collectors it registers.
// `up` is the one name Prometheus itself makes, for the scrape of resetgate.
var (
	metricName = regexp.MustCompile(`\b(resetgate_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up)\b[^(]`)
	matcher    = regexp.MustCompile(`\b(event|route|code)=~?"([^"$]+)"`)
)

// exprs returns every PromQL expression of the dashboard and the rules, with where it is.
func exprs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Query any
			}
		}
	}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardFile, err)
	}
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			out[fmt.Sprintf("dashboard panel %q target %d", p.Title, i)] = tg.Expr
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			out["dashboard variable "+v.Name] = fmt.Sprint(q["query"])
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if b, err = os.ReadFile(rulesFile); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s is not YAML: %v", rulesFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["alert "+r.Alert] = r.Expr
		}
	}
	return out
}

// scrape runs the release binary against a real users database and returns its /metrics.
func scrape(t *testing.T) string {
	t.Helper()
	u := mustUsers(t)
	dir := t.TempDir()
	listen, admin := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`listen = "127.0.0.1:%d"
public_url = "https://app.example"
upstream = %q
data_dir = %q
[users]
driver = "postgres"
dsn_env = "LEGACY_DSN"
[mail]
from = "Example <no-reply@example.com>"
[admin]
listen = "127.0.0.1:%d"
`, listen, legacyApp(t), filepath.Join(dir, "data"), admin)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hostBinary(t), "serve", "-config", path)
	cmd.Env = []string{"LEGACY_DSN=" + u.dsn}
	srv := startServer(t, cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", admin)
	waitHealthy(t, base+"/healthz", srv.exited, srv.out.String)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDashboardAndAlertsUseOnlyExportedMetrics(t *testing.T) {
	metrics := scrape(t)
	families := map[string]bool{"up": true}
	for _, l := range strings.Split(metrics, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					families[f[2]+s] = true
				}
			}
		}
	}
	used := map[string]bool{}
	for where, e := range exprs(t) {
		names := metricName.FindAllStringSubmatch(e+" ", -1)
		if len(names) == 0 {
			t.Errorf("%s uses no resetgate metric: %s", where, e)
		}
		for _, m := range names {
			used[m[1]] = true
			if !families[m[1]] {
				t.Errorf("%s uses %s, which resetgate does not export", where, m[1])
			}
		}
		for _, m := range matcher.FindAllStringSubmatch(e, -1) {
			for _, v := range strings.Split(m[2], "|") {
				if !strings.Contains(metrics, m[1]+`="`+v+`"`) {
					t.Errorf("%s matches %s=%q, which no exported series has", where, m[1], v)
				}
			}
		}
	}
	// What the dashboard and the rules are for: each has a panel or an alert.
	for _, m := range []string{"resetgate_http_requests_total", "resetgate_http_request_duration_seconds_bucket",
		"resetgate_queue_depth", "resetgate_queue_jobs", "resetgate_events_total", "resetgate_hash_slots_busy",
		"resetgate_pages_turned_away_total"} {
		if !used[m] {
			t.Errorf("neither the dashboard nor the rules use %s", m)
		}
	}
}

func TestAlertRulesPassPromtool(t *testing.T) {
	need(t, "promtool", "prometheus")
	out, err := exec.Command("promtool", "check", "rules", rulesFile).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
