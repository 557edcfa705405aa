package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"resetgate/challenge"
	"resetgate/reset"
	"resetgate/tracking"
	"resetgate/web"
)

// metrics are resetgate's Prometheus metrics. Every label has a small fixed set of values:
// never an address, a token, a user id or a path.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // route, code
	latency  *prometheus.HistogramVec // route
	events   *prometheus.CounterVec   // event
	sessions *prometheus.CounterVec   // event: session tracking (package tracking)
	hashing  prometheus.Histogram

	// Resolved once, so the hot path does no label lookups.
	counters [3][6]prometheus.Counter // [route][status class]
	hists    [3]prometheus.Observer   // [route]
}

// eventNames fixes the label values of resetgate_events_total.
var eventNames = []reset.Event{
	reset.EventRequested, reset.EventRequestMalformed, reset.EventLimitedIP, reset.EventLimitedEmail,
	reset.EventLimitedToken, reset.EventQueueFailed, reset.EventQueueFull, reset.EventResetHandled,
	reset.EventNotResettable, reset.EventTokenInvalid, reset.EventTokenExpired, reset.EventTokenUsed,
	reset.EventCompletionWaits, reset.EventMailSent, reset.EventMailFailed, reset.EventMailGivenUp,
	reset.EventMailDeferred, reset.EventJobPanicked, reset.EventLeaseLost, reset.EventPasswordChanged,
	reset.EventPasswordRefused, reset.EventStoreWriteFailed, reset.EventWasntMe, reset.EventHookSent,
	reset.EventHookFailed, reset.EventHookGivenUp, reset.EventSessionsEnded, reset.EventSessionsEndFailed,
}

// trackingEvents fixes the label values of resetgate_session_events_total.
var trackingEvents = []tracking.Event{tracking.EventBound, tracking.EventRefused, tracking.EventFailed,
	tracking.EventDropped, tracking.EventPollFailed}

func newMetrics(a *app) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resetgate_http_requests_total",
		Help: "HTTP requests by route (upstream: proxied to the app; reset: resetgate's pages; refused) and status class.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "resetgate_http_request_duration_seconds",
		Help:    "Time to the end of the response, by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resetgate_events_total",
		Help: "Reset flow events: requests, rate-limit hits, challenges passed/failed/unverifiable, links used/invalid/expired, mails sent/failed/deferred/given up, passwords changed. Whether an address has an account is never an event of its own.",
	}, []string{"event"})
	m.hashing = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "resetgate_hash_duration_seconds",
		Help:    "Time to hash one new password in the app's format.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	for r, name := range [...]string{web.Upstream: "upstream", web.Reset: "reset", web.Refused: "refused"} {
		for c := 1; c <= 5; c++ {
			m.counters[r][c] = m.requests.WithLabelValues(name, strconv.Itoa(c)+"xx")
		}
		m.hists[r] = m.latency.WithLabelValues(name)
	}
	for _, e := range eventNames {
		m.events.WithLabelValues(string(e))
	}
	for _, e := range challenge.Events {
		m.events.WithLabelValues(string(e))
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "resetgate_challenge_active",
		Help: "1 while this replica's request form asks for a proof of work or captcha ([abuse] challenge: always, or auto over auto_threshold), else 0.",
	}, func() float64 {
		if a.web != nil && a.web.Challenge().Active() {
			return 1
		}
		return 0
	})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "resetgate_session_events_total",
		Help: "Session tracking ([app] session_cookies): session_bound (a cookie bound to an account, durable in the store), session_refused (a request carried a revoked cookie, which was dropped), session_bind_failed, session_bind_dropped (queue full), session_poll_failed. Revocations by resets are resetgate_events_total{event=\"sessions_ended\"}.",
	}, []string{"event"})
	for _, e := range trackingEvents {
		m.sessions.WithLabelValues(string(e))
	}
	queue := &queueCollector{a: a,
		depth: prometheus.NewDesc("resetgate_queue_depth", "Mail jobs waiting (live, not given up).", nil, nil),
		dead:  prometheus.NewDesc("resetgate_queue_dead", "Mail jobs given up on, kept for `resetgate queue`.", nil, nil),
		jobs: prometheus.NewDesc("resetgate_queue_jobs", "Live mail jobs by state: due (waiting for the worker), delayed (backing off after a failed attempt), leased (being sent).",
			[]string{"state"}, nil),
		tokens: prometheus.NewDesc("resetgate_tokens_pending", "Reset links stored: not yet used, and expired ones until the next sweep.", nil, nil),
	}
	slots := func(busy bool) func() float64 {
		return func() float64 {
			if a.svc == nil { // set right after newMetrics, before anything serves
				return 0
			}
			b, n := a.svc.HashSlots()
			if busy {
				return float64(b)
			}
			return float64(n)
		}
	}
	busy := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "resetgate_hash_slots_busy",
		Help: "Hash slots held right now by password hashing and strength checks; at resetgate_hash_slots, completions wait.",
	}, slots(true))
	total := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "resetgate_hash_slots",
		Help: "Hash slots: how many hashes and strength checks may run at once.",
	}, slots(false))
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "resetgate_access_log_dropped_total",
		Help: "Access log lines dropped because the log output fell behind and the access log's queue was full; requests never wait for the log. Other log lines are never dropped.",
	}, func() float64 {
		if a.accessQueue == nil { // a synchronous access log drops nothing
			return 0
		}
		return float64(a.accessQueue.Dropped())
	})
	m.reg.MustRegister(m.requests, m.latency, m.events, m.sessions, m.hashing, queue, busy, total, active, dropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(e reset.Event) { m.events.WithLabelValues(string(e)).Inc() }

func (m *metrics) observeChallenge(e challenge.Event) { m.events.WithLabelValues(string(e)).Inc() }

func (m *metrics) observeTracking(e tracking.Event) {
	m.sessions.WithLabelValues(string(e)).Inc()
}

func (m *metrics) observeHashing(d time.Duration) { m.hashing.Observe(d.Seconds()) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// request counts and times one request on the public listener.
func (m *metrics) request(route web.Route, code int, d time.Duration) {
	class := code / 100
	if class < 1 || class > 5 {
		class = 5
	}
	m.counters[route][class].Inc()
	m.hists[route].Observe(d.Seconds())
}

// queueCollector reads the queue and token counts from the store at scrape time, with the
// store's counting methods: a scrape costs the same however many jobs and tokens there are
// (issue 20, item 6).
type queueCollector struct {
	a                         *app
	depth, dead, jobs, tokens *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.dead
	ch <- c.jobs
	ch <- c.tokens
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if q, err := c.a.store.Stats(ctx, time.Now()); err == nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Live()))
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(q.Dead))
		for state, n := range map[string]int{"due": q.Due, "delayed": q.Delayed, "leased": q.Leased} {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), state)
		}
	}
	if n, err := c.a.store.CountTokens(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.tokens, prometheus.GaugeValue, float64(n))
	}
}

// recorder notes the status and size of a response. It implements Unwrap, so that
// http.ResponseController (full duplex, flushing, hijacking for WebSockets) reaches the real
// connection through it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// code is the response status of req. Nothing written can mean two things: a connection
// taken over for a protocol upgrade (WebSocket), whose 101 went out on the raw connection, or
// a client that went away before any answer, counted as 499 as nginx does.
func (r *recorder) code(req *http.Request) int {
	switch {
	case r.status != 0:
		return r.status
	case req.Header.Get("Upgrade") != "" && req.Context().Err() == nil:
		return http.StatusSwitchingProtocols
	case req.Context().Err() != nil:
		return statusClientClosed
	}
	return http.StatusOK
}

// statusClientClosed is nginx's 499: the client closed the connection before the answer.
const statusClientClosed = 499

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
