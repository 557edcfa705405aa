package main

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
)

// svgDoc is the part of chartSVG's output the test reads back.
type svgDoc struct {
	Title string `xml:"title"`
	Desc  string `xml:"desc"`
	Rects []struct {
		Width string `xml:"width,attr"`
		Fill  string `xml:"fill,attr"`
	} `xml:"rect"`
	Texts []string `xml:"text"`
}

func TestChartSVG(t *testing.T) {
	rows := []chartRow{
		{label: "bare ReverseProxy", cpuUS: 40, idleMiB: 10},
		{label: "nginx <1.22>", cpuUS: 10, idleMiB: math.NaN()},
		{label: "resetgate", cpuUS: 20, idleMiB: 20, ours: true},
	}
	out := chartSVG(rows, "make bench & co")
	var doc svgDoc
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, out)
	}
	if doc.Title == "" || !strings.Contains(doc.Desc, "nginx <1.22>: 10.0 µs CPU per request, not measured") {
		t.Errorf("title %q, desc %q: want a title and every value in the description", doc.Title, doc.Desc)
	}
	// The first rect is the background; then per panel one bar per measured value.
	var widths []float64
	var ours int
	for _, r := range doc.Rects[1:] {
		v, err := strconv.ParseFloat(r.Width, 64)
		if err != nil {
			t.Fatalf("bar width %q: %v", r.Width, err)
		}
		widths = append(widths, v)
		if r.Fill == "#1f6feb" {
			ours++
		}
	}
	// CPU: 40, 10, 20 against the panel's width; RSS: 10 and 20 (nginx's is missing).
	const full = chartPanelW - chartValueW
	want := []float64{full, full / 4, full / 2, full / 2, full}
	if len(widths) != len(want) {
		t.Fatalf("%d bars %v, want %d", len(widths), widths, len(want))
	}
	for i := range want {
		if math.Abs(widths[i]-want[i]) > 0.1 {
			t.Errorf("bar %d is %.1f wide, want %.1f (proportional to the panel's largest value)", i, widths[i], want[i])
		}
	}
	if ours != 2 {
		t.Errorf("%d bars in resetgate's colour, want 2 (one per panel)", ours)
	}
	texts := strings.Join(doc.Texts, "|")
	for _, s := range []string{"40.0 µs", "20.0 MiB", "not measured", "make bench & co", "nginx <1.22>"} {
		if !strings.Contains(texts, s) {
			t.Errorf("no text %q in the chart: %s", s, texts)
		}
	}
}

func TestChartPath(t *testing.T) {
	for in, want := range map[string]string{"BENCHMARKS.md": "BENCHMARKS.svg", "/tmp/b/report.md": "/tmp/b/report.svg", "out": "out.svg"} {
		if got := chartPath(in); got != want {
			t.Errorf("chartPath(%q) = %q, want %q", in, got, want)
		}
	}
}
