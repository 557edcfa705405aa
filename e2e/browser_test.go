package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"resetgate/internal/testenv"
)

// widths are the viewports every page is checked and photographed at: a small phone and a
// laptop. The journey itself runs at the last one.
var widths = []viewport{{1280, 800, false}, {375, 812, true}}

type viewport struct {
	w, h   int64
	mobile bool
}

// browser is one headless Chromium with a fresh profile, watching everything the page loads
// and logs.
type browser struct {
	t      *testing.T
	ctx    context.Context
	public *url.URL
	shots  string // this scenario's screenshot directory
	n      int    // pages photographed so far, to number the files in visiting order
	out    *testenv.Buffer

	mu       sync.Mutex
	requests []string                    // every URL the page requested
	docs     map[network.RequestID]bool  // which requests were documents
	console  []string                    // console errors and uncaught exceptions
	saved    map[string]map[int64]string // page name → width → screenshot file
}

// chromiumPath is Debian's chromium, or $E2E_CHROMIUM.
func chromiumPath() string { return testenv.Env("E2E_CHROMIUM", "/usr/bin/chromium") }

// needChromium skips the test (fails it in CI) when there is no browser, before the test
// sets anything else up.
func needChromium(t *testing.T) {
	t.Helper()
	testenv.Need(t, "chromium (apt-get install chromium)", need(chromiumPath()))
}

// newBrowser starts Chromium with exactly the flags of issue 6 and a fresh user-data dir, and
// stops it when the test ends.
func newBrowser(t *testing.T, public *url.URL, shots string) *browser {
	t.Helper()
	needChromium(t)
	path := chromiumPath()
	profile := t.TempDir() // removed after the browser is gone: cleanups run last-in first-out
	b := &browser{t: t, public: public, shots: shots, out: &testenv.Buffer{},
		docs: map[network.RequestID]bool{}, saved: map[string]map[int64]string{}}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(b.out),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output (last lines, D-Bus noise left out):\n%s", tail(b.out.String(), 40, "dbus/"))
		}
	})
	b.ctx = ctx
	// The first Run starts the browser; it must not carry a step's timeout (see chromedp.Run).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v\n%s", path, err, b.out.String())
	}
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	return b
}

// onEvent runs on chromedp's reader goroutine, so it only records.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
		if ev.Type == network.ResourceTypeDocument {
			b.docs[ev.RequestID] = true
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, remoteText(a))
			}
			b.console = append(b.console, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.console = append(b.console, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, text))
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError {
			return
		}
		// Chrome logs every 4xx answer to a page load as a network error. The journey asserts
		// the status of each page it loads (401 for a refused login, 422 for a refused
		// password), so those entries are expected; and Chrome fetches /favicon.ico by itself
		// for the legacy apps' pages, which declare no icon (resetgate's pages do).
		if e.Source == cdplog.EntrySourceNetwork {
			if b.docs[e.NetworkRequestID] {
				return
			}
			if u, err := url.Parse(e.URL); err == nil && u.Path == "/favicon.ico" {
				return
			}
		}
		b.console = append(b.console, fmt.Sprintf("%s error at %s: %s", e.Source, e.URL, e.Text))
	}
}

// tail returns the last n lines of out that contain no noise string.
func tail(out string, n int, noise string) string {
	var lines []string
	for line := range strings.Lines(out) {
		if !strings.Contains(line, noise) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

func remoteText(o *runtime.RemoteObject) string {
	if o.Description != "" {
		return o.Description
	}
	return strings.Trim(string(o.Value), `"`)
}

// hygiene returns the third-party requests and console errors seen so far: every request must
// go to the public origin (SECURITY.md RQ-LNK-03), and the console must stay free of errors.
func (b *browser) hygiene() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var problems []string
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != b.public.Scheme || u.Host != b.public.Host {
			problems = append(problems, "request to another origin: "+r)
		}
	}
	for _, c := range b.console {
		problems = append(problems, "console: "+c)
	}
	return problems
}

// setWidth emulates one of widths; the phone width also turns on mobile emulation, so that
// the page's viewport meta tag is honoured as on a phone.
func setWidth(w viewport) chromedp.Action[chromedp.Void] {
	if w.mobile {
		return chromedp.EmulateViewport(w.w, w.h, chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(w.w, w.h)
}

// photograph saves a full-page PNG of the current page at every width, and, when check is set,
// returns any width at which the page scrolls sideways. It leaves the browser at the last
// (phone) width.
func (b *browser) photograph(ctx context.Context, name string, check bool) ([]string, error) {
	b.n++
	// Whether an autofocused field shows its ring depends on whether the headless window has
	// focus yet; without focus every picture looks the same.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`)); err != nil {
		return nil, err
	}
	var problems []string
	for _, w := range widths {
		if err := chromedp.Do(ctx, setWidth(w)); err != nil {
			return nil, err
		}
		if check {
			sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int64](`[document.scrollingElement.scrollWidth, window.innerWidth]`))
			if err != nil {
				return nil, err
			}
			// A phone zooms out (shrink to fit) rather than scroll when the content is too
			// wide, which widens innerWidth too; so the width must also stay as emulated.
			if sizes[0] > sizes[1] || sizes[1] != w.w {
				problems = append(problems, fmt.Sprintf("at %dpx the page does not fit: scrollWidth %d, innerWidth %d", w.w, sizes[0], sizes[1]))
			}
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return nil, err
		}
		file := filepath.Join(b.shots, fmt.Sprintf("%02d-%s-%d.png", b.n, name, w.w))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			return nil, err
		}
		b.mu.Lock()
		if b.saved[name] == nil {
			b.saved[name] = map[int64]string{}
		}
		b.saved[name][w.w] = file
		b.mu.Unlock()
	}
	return problems, nil
}

// a11yScript returns the accessibility problems of the page that a script can see: the
// language, the single h1, a label for every visible input and text for every control.
const a11yScript = `(() => {
  const problems = [];
  const shown = el => el.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true});
  const text = el => (el ? el.textContent.trim() : "");
  if (!(document.documentElement.getAttribute("lang") || "").trim()) problems.push("<html> has no lang attribute");
  const h1 = document.querySelectorAll("h1");
  if (h1.length !== 1) problems.push(h1.length + " <h1> elements, want exactly one");
  if (!document.title.trim()) problems.push("no <title>");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !shown(el)) continue;
    const named = [...el.labels].some(l => text(l) !== "") ||
      (el.getAttribute("aria-label") || "").trim() !== "" ||
      (el.getAttribute("aria-labelledby") || "").split(/\s+/).some(id => id && text(document.getElementById(id)) !== "");
    if (!named) problems.push("no label for " + el.outerHTML);
  }
  for (const el of document.querySelectorAll("a[href], button")) {
    if (shown(el) && text(el) === "" && !(el.getAttribute("aria-label") || "").trim()) problems.push("no text in " + el.outerHTML);
  }
  return problems;
})()`

// focusables lists the page's visible keyboard-focusable elements and remembers them, so that
// focusState can say which one has the focus.
const focusablesScript = `(() => {
  const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';
  const els = [...document.querySelectorAll(sel)].filter(el => el.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true}));
  window.__e2eFocusables = els;
  return els.map(el => el.outerHTML.slice(0, 120));
})()`

// focusState returns which remembered element has the focus (-1 for none) and whether the
// focus is visible on it: an outline of some width or a box shadow.
const focusStateScript = `(() => {
  const el = document.activeElement;
  const i = (window.__e2eFocusables || []).indexOf(el);
  if (!el || i < 0) return {index: -1, visible: false};
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  return {index: i, visible: outline || s.boxShadow !== "none"};
})()`

type focusState struct {
	Index   int  `json:"index"`
	Visible bool `json:"visible"`
}

// accessibility runs the smoke check of issue 6 on the current page: a11yScript, then visible
// focus for keyboard users. Focus is moved with real Tab key presses, as a keyboard user does,
// because only keyboard focus must show a ring (:focus-visible); Tab wraps around the page,
// so 2n+2 presses reach every one of n elements from wherever the focus starts.
func (b *browser) accessibility(ctx context.Context) ([]string, error) {
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yScript))
	if err != nil {
		return nil, err
	}
	els, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](focusablesScript))
	if err != nil {
		return nil, err
	}
	reached := make([]bool, len(els))
	for range 2*len(els) + 2 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			return nil, err
		}
		st, err := chromedp.Run(ctx, chromedp.Evaluate[focusState](focusStateScript))
		if err != nil {
			return nil, err
		}
		if st.Index < 0 || reached[st.Index] {
			continue
		}
		reached[st.Index] = true
		if !st.Visible {
			problems = append(problems, "no visible focus (outline or box-shadow) on "+els[st.Index])
		}
	}
	for i, ok := range reached {
		if !ok {
			problems = append(problems, "Tab never reaches "+els[i])
		}
	}
	return problems, nil
}

// html returns the current page's markup, for failure reports.
func (b *browser) html() string {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		return fmt.Sprintf("(page at %s: cannot read HTML: %v)", loc, err)
	}
	return fmt.Sprintf("(page at %s)\n%s", loc, h)
}

// failShot saves what the browser shows now, for a failure report.
func (b *browser) failShot(step string) string {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Sprintf("(no screenshot: %v)", err)
	}
	file := filepath.Join(b.shots, "FAILED-"+strings.ReplaceAll(step, " ", "-")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		return fmt.Sprintf("(no screenshot: %v)", err)
	}
	return file
}
