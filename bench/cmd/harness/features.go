package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// checkFeatures makes sure the resetgate-features target really has its features on, so that
// its numbers mean what the report says: the sign-in page carries the injected link and the
// reset page is wrapped in the sign-in page's frame. Wrap mode fetches that page in the
// background after start-up, so this waits for it a little.
func checkFeatures(ctx context.Context, t *target) error {
	get := func(path string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	page, err := get(pathLogin)
	if err != nil {
		return err
	}
	if !strings.Contains(page, "resetgate-forgot") {
		return fmt.Errorf("GET %s has no injected link", pathLogin)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := get("/pwreset")
		if err != nil {
			return err
		}
		if strings.Contains(page, "<footer>Legacy app</footer>") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /pwreset is not wrapped in %s's page after 15s", pathLogin)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cpuRatio is the median over rounds of key's CPU per request divided by ref's in the same
// round of scenario sc, with the smallest and largest of those ratios.
func cpuRatio(samples []loadSample, sc, key, ref string) (med, lo, hi float64) {
	byRound := map[int]map[string]float64{}
	for _, s := range samples {
		if s.scenario == sc {
			if byRound[s.round] == nil {
				byRound[s.round] = map[string]float64{}
			}
			byRound[s.round][s.target] = s.cpuUS
		}
	}
	var ratios []float64
	for _, r := range byRound {
		a, aok := r[key]
		b, bok := r[ref]
		if aok && bok && b > 0 {
			ratios = append(ratios, a/b)
		}
	}
	if len(ratios) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = minMax(ratios)
	return median(ratios), lo, hi
}

// featuresVerdict is item 4 of issue 17 at the wire: with link injection, session tracking and
// wrap mode configured, the headline request, which none of them touches, against the default
// config in the same rounds.
func (res *results) featuresVerdict() (verdict, bool) {
	if res.target("resetgate-features") == nil || res.target("resetgate") == nil {
		return verdict{}, false
	}
	feat := summarizeLoad(res.samples, "page", "resetgate-features")
	plain := summarizeLoad(res.samples, "page", "resetgate")
	if feat.rounds == 0 || plain.rounds == 0 {
		return verdict{}, false
	}
	r, lo, hi := cpuRatio(res.samples, "page", "resetgate-features", "resetgate")
	return verdict{
		"Injection, session tracking and wrap mode configured: a request none of them touches costs ≤ 1.01× the plain path (CPU per request, same rounds)",
		fmt.Sprintf("%s µs vs %s µs: **%s×** (rounds %s–%s)", f(feat.cpu, 1), f(plain.cpu, 1), f(r, 3), f(lo, 2), f(hi, 2)),
		status(r <= 1.01),
	}, true
}
