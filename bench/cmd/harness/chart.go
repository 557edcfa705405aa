package main

import (
	"fmt"
	"html"
	"math"
	"path/filepath"
	"strings"
)

// chartRow is one proxy in the chart that opens BENCHMARKS.md.
type chartRow struct {
	label   string
	cpuUS   float64 // CPU µs per proxied request, NaN if not measured
	idleMiB float64 // idle RSS, NaN if not measured
	ours    bool    // a resetgate target, drawn in the accent colour
}

// chartRows is every proxy target of the run: its median CPU per request in the first
// closed-loop scenario (the 2 KiB page) and its idle RSS.
func (res *results) chartRows() []chartRow {
	var sc *scenario
	for i := range res.scenarios {
		if res.scenarios[i].rate == 0 {
			sc = &res.scenarios[i]
			break
		}
	}
	var rows []chartRow
	for _, t := range res.targets {
		if !t.isProxy() {
			continue
		}
		r := chartRow{label: t.label, cpuUS: math.NaN(), idleMiB: math.NaN(), ours: strings.HasPrefix(t.key, "resetgate")}
		if sc != nil {
			r.cpuUS = summarizeLoad(res.samples, sc.key, t.key).cpu
		}
		if m := res.mem[t.key]; m != nil && m.idleKB > 0 {
			r.idleMiB = float64(m.idleKB) / 1024
		}
		rows = append(rows, r)
	}
	return rows
}

// chartPath is where the chart of the report at out goes: beside it, with .svg for .md.
func chartPath(out string) string {
	return strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
}

// chartSubtitle says where the numbers come from.
func (res *results) chartSubtitle() string {
	s := fmt.Sprintf("make bench, %s, %d × %s, resetgate %s", res.started.UTC().Format("2006-01-02"), res.machine.cpus, res.machine.model, res.machine.commit)
	if res.o.quick {
		s += " (quick run: not comparable)"
	}
	return s
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 300 // the targets' names
	chartPanelW = 300 // each panel: the longest bar and its value
	chartValueW = 80  // of the panel, kept for the value written after the bar
	chartGap    = 40  // between the panels
	chartRowH   = 26
	chartTop    = 58 // title and panel headings
	chartBottom = 30 // the note under the bars
)

// chartSVG draws rows as two panels of horizontal bars sharing the targets' names: CPU µs per
// request and idle RSS in MiB, each bar labelled with its value. The SVG is self-contained
// (no script, no external font or style) so that GitHub and any browser render it as an image,
// and it carries a <title> and <desc> for screen readers.
func chartSVG(rows []chartRow, subtitle string) string {
	width := chartLabelW + 2*chartPanelW + chartGap + 10
	height := chartTop + len(rows)*chartRowH + chartBottom
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="t d" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`+"\n", width, height, width, height)
	w(`<title id="t">CPU per proxied request and idle memory, every proxy of the run</title>` + "\n")
	w(`<desc id="d">%s</desc>`+"\n", html.EscapeString(chartDesc(rows)))
	w(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	w(`<text x="8" y="20" font-size="15" font-weight="600" fill="#1a1a1a">Lower is better: CPU per request and memory at rest</text>` + "\n")
	w(`<text x="8" y="38" fill="#555555">%s</text>`+"\n", html.EscapeString(subtitle))

	panels := []struct {
		heading string
		unit    string
		value   func(chartRow) float64
		prec    int
	}{
		{"CPU µs per request (GET 2 KiB)", "µs", func(r chartRow) float64 { return r.cpuUS }, 1},
		{"idle RSS (MiB)", "MiB", func(r chartRow) float64 { return r.idleMiB }, 1},
	}
	for pi, p := range panels {
		x0 := chartLabelW + pi*(chartPanelW+chartGap)
		peak := 0.0
		for _, r := range rows {
			if v := p.value(r); !math.IsNaN(v) {
				peak = math.Max(peak, v)
			}
		}
		w(`<text x="%d" y="%d" font-weight="600" fill="#1a1a1a">%s</text>`+"\n", x0, chartTop-8, html.EscapeString(p.heading))
		for i, r := range rows {
			y := chartTop + i*chartRowH
			v := p.value(r)
			if math.IsNaN(v) || peak == 0 {
				w(`<text x="%d" y="%d" fill="#555555">not measured</text>`+"\n", x0, y+17)
				continue
			}
			bar := math.Max(1, v/peak*(chartPanelW-chartValueW))
			fill := "#9aa5b1"
			if r.ours {
				fill = "#1f6feb"
			}
			w(`<rect x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"/>`+"\n", x0, y+4, bar, chartRowH-8, fill)
			w(`<text x="%.1f" y="%d" fill="#1a1a1a">%s %s</text>`+"\n", float64(x0)+bar+6, y+17, f(v, p.prec), p.unit)
		}
	}
	for i, r := range rows {
		weight := "400"
		if r.ours {
			weight = "600"
		}
		w(`<text x="%d" y="%d" text-anchor="end" font-weight="%s" fill="#1a1a1a">%s</text>`+"\n", chartLabelW-12, chartTop+i*chartRowH+17, weight, html.EscapeString(chartLabel(r.label)))
	}
	w(`<text x="8" y="%d" fill="#555555">Medians of the run's rounds; resetgate in blue. Tables and method: BENCHMARKS.md.</text>`+"\n", height-10)
	w("</svg>\n")
	return b.String()
}

// chartLabel shortens a target's label to fit the name column.
func chartLabel(s string) string {
	const most = 36
	if r := []rune(s); len(r) > most {
		return string(r[:most-1]) + "…"
	}
	return s
}

// chartDesc is the chart's text equivalent: every bar's value.
func chartDesc(rows []chartRow) string {
	var parts []string
	for _, r := range rows {
		cpu, rss := "not measured", "not measured"
		if !math.IsNaN(r.cpuUS) {
			cpu = f(r.cpuUS, 1) + " µs CPU per request"
		}
		if !math.IsNaN(r.idleMiB) {
			rss = f(r.idleMiB, 1) + " MiB idle RSS"
		}
		parts = append(parts, fmt.Sprintf("%s: %s, %s", r.label, cpu, rss))
	}
	return strings.Join(parts, "; ") + "."
}
