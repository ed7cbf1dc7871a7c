package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/up"
)

// ScreenshotsEnv names a directory the browser tests save their
// screenshots to (the README's pictures: make screenshots); they always
// save them in the test's temporary directory too.
const ScreenshotsEnv = "PITWALL_SCREENSHOTS"

// browser starts headless Chromium (Debian's package, as make test
// installs it) and returns a context that drives it.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := "/usr/bin/chromium"
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("headless Chromium is needed (make deps installs Debian's chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// waitJS evaluates expr in the page until it is true, or fails the test
// after timeout with what the page holds.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	defer func() { t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#tower").innerText`))
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({states: pitwall.states, maps: pitwall.maps, outline: (document.querySelector("#outline").getAttribute("d") || "").length, cars: document.querySelectorAll("#cars circle").length})`))
			t.Fatalf("%s: not after %v (%v); page %s; tower:\n%s", what, timeout, err, page, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// screenshot saves the page as name.png (in the test's directory and,
// with PITWALL_SCREENSHOTS, there) and checks it is a real picture.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // png
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
		t.Fatalf("screenshot %v", b)
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv(ScreenshotsEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s.png: %d bytes", name, len(buf))
}

// checkLayout fails the test where the page is not drawn as a race
// engineer would read it at 1600×900: the tower wider than its panel
// (a column cut off), a value cut by its fixed-size box (app.css .v),
// the cars' layer not over the circuit, or a car off the map.
func checkLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	type layout struct {
		Panel, Tower, Map float64
		Clipped           []string
		Layers            bool
		Off               []string
	}
	l := eval[layout](t, ctx, `(() => {
		const p = document.querySelector("#tower-panel");
		const box = (e) => e.getBoundingClientRect();
		const clipped = [...document.querySelectorAll("#tower .v")].filter((e) => {
			const r = document.createRange();
			r.selectNodeContents(e);
			return r.getBoundingClientRect().width > box(e).width + 0.5;
		}).map((e) => e.closest("td").className + " " + JSON.stringify(e.innerText));
		const a = box(document.querySelector("#map")), b = box(document.querySelector("#map-cars"));
		const o = box(document.querySelector("#outline")), pad = 30;
		const off = [...document.querySelectorAll("#cars g")].filter((g) => {
			const c = box(g.querySelector("circle")), x = c.x + c.width / 2, y = c.y + c.height / 2;
			return x < o.left - pad || x > o.right + pad || y < o.top - pad || y > o.bottom + pad;
		}).map((g) => g.dataset.car);
		return {panel: p.clientWidth, tower: p.scrollWidth, map: box(document.querySelector("#map-panel")).width, clipped,
			layers: a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height, off};
	})()`)
	t.Logf("layout: tower %v px in a %v px panel, map %v px", l.Tower, l.Panel, l.Map)
	if l.Tower > l.Panel {
		t.Errorf("the tower is %v px wide in a %v px panel: columns cut off", l.Tower, l.Panel)
	}
	if l.Map < 360 {
		t.Errorf("the map is %v px wide: the tower leaves it too little", l.Map)
	}
	if len(l.Clipped) > 0 {
		t.Errorf("values wider than their boxes: %q", l.Clipped)
	}
	if !l.Layers {
		t.Error("the cars' layer is not where the circuit is")
	}
	if len(l.Off) > 0 {
		t.Errorf("cars off the circuit: %q", l.Off)
	}
}

// The whole live path into a real browser, as `pitwall up` runs it:
// simulator (4 cars, 8× real time, a pit stop every 3 laps) → pty → edge
// → broker → lap processor (laps and telemetry.live) → the page it
// serves → headless Chromium. The page shows every car with its number,
// driver and team colour, the lap clocks run, the map draws the circuit
// and the cars on it, the timing colours come, the best laps equal the
// simulator's truth, and a car in the pit lane is shown IN PIT.
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	drivers := web.Drivers{"car01": {Number: "44", Name: "Lewis Hamilton", Team: "Ferrari", Colour: "#dc0000"},
		"car02": {Number: "1", Name: "Max Verstappen", Team: "Red Bull", Colour: "#1e41ff"}}
	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	stopUp := openUp(t, ctx, up.Config{Cars: 4, Track: "brands-indy", Speed: 8, PitEvery: 3, Truth: truthPath, Rates: lowRates,
		Drivers: drivers})
	waitJS(t, ctx, "four cars on the tower", `document.querySelectorAll("#tower tbody tr").length === 4`, 2*time.Minute)
	if got := eval[string](t, ctx, `document.querySelector('tr[data-car="car01"] td.driver').innerText`); !strings.Contains(got, "Lewis Hamilton") || !strings.Contains(got, "Ferrari") {
		t.Errorf("car01's driver cell %q", got)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('tr[data-car="car01"] td.num span')).backgroundColor`); got != "rgb(220, 0, 0)" {
		t.Errorf("car01's number badge colour %q, want the team's rgb(220, 0, 0)", got)
	}
	// Live updates keep arriving and the lap clocks run between them.
	waitJS(t, ctx, "a running lap clock", `[...document.querySelectorAll("#tower .clock")].some(e => /^\d+:\d\d\.\d$/.test(e.innerText))`, 2*time.Minute)
	first := eval[float64](t, ctx, `window.pitwall.states`)
	clock := eval[string](t, ctx, `document.querySelector("#tower .clock").innerText`)
	waitJS(t, ctx, "more states pushed", fmt.Sprintf(`window.pitwall.states > %v + 10`, first), time.Minute)
	waitJS(t, ctx, "the lap clock moving", fmt.Sprintf(`document.querySelector("#tower .clock").innerText !== %q`, clock), time.Minute)
	// The map: the circuit outline from GPS, the timing lines, four cars.
	waitJS(t, ctx, "four cars on the map", `document.querySelectorAll("#cars circle").length === 4`, time.Minute)
	waitJS(t, ctx, "the circuit drawn", `(document.querySelector("#outline").getAttribute("d") || "").split("L").length > 50`, 2*time.Minute)
	if n := eval[float64](t, ctx, `document.querySelectorAll("#lines line").length`); n != 3 {
		t.Errorf("%v timing lines drawn, want 3 (start/finish and two sector lines)", n)
	}
	// Colours: the session best lap in purple, sectors coloured.
	waitJS(t, ctx, "a purple best lap", `document.querySelector("td.best.purple") !== null`, 3*time.Minute)
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector("td.best.purple")).color`); got != "rgb(180, 77, 255)" {
		t.Errorf("purple best lap drawn in %q", got)
	}
	// Lap 2 is every car's second valid lap (the stop is at the end of
	// lap 3): each of its sectors is purple (the session's best, one
	// car's), green (the car's own best) or yellow.
	waitJS(t, ctx, "two laps done by every car", `[...document.querySelectorAll("#tower td.laps")].every(e => +e.innerText >= 2)`, 3*time.Minute)
	cols, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#tower tbody tr")].filter(tr => tr.querySelector("td.laps").innerText === "2").flatMap(tr => [...tr.querySelectorAll("td.sec")].map(td => td.className))`))
	if err != nil {
		t.Fatal(err)
	}
	greenOrYellow := 0
	for _, c := range cols {
		switch {
		case strings.Contains(c, "green"), strings.Contains(c, "yellow"):
			greenOrYellow++
		case !strings.Contains(c, "purple"):
			t.Errorf("a valid lap's sector drawn as %q, want purple, green or yellow", c)
		}
	}
	if len(cols) < 6 || greenOrYellow == 0 {
		t.Errorf("sectors of cars on their second lap: %q; want at least two cars' and a green or yellow one", cols)
	}
	// Lap analysis: the page offers the laps it has traces of and compares
	// the session's best with another lap by distance: four channels of
	// both laps and the delta, and lap A's line painted on the map.
	waitJS(t, ctx, "two laps compared", `window.pitwall.analysis > 0 && document.querySelectorAll("#charts polyline").length === 9`, time.Minute)
	if n := eval[float64](t, ctx, `document.querySelectorAll("#analysis-map line").length`); n < 10 {
		t.Errorf("%v segments of the compared lap painted on the map", n)
	}
	// The labels and the sum of the same drawing (a new lap can start
	// another compare at any time).
	drawn := eval[[]string](t, ctx, `[window.pitwall.compared.a || "", window.pitwall.compared.b || "", window.pitwall.compared.sum]`)
	picked, sum := drawn[:2], drawn[2]
	var la, lb time.Duration
	for i, p := range picked {
		f := strings.Fields(p)
		if len(f) < 4 {
			t.Fatalf("lap option %q", p)
		}
		if i == 0 {
			la = parseLap(t, f[3])
		} else {
			lb = parseLap(t, f[3])
		}
	}
	if !strings.Contains(picked[0], "★") {
		t.Errorf("lap A %q is not the session's best", picked[0])
	}
	if want := fmt.Sprintf("B − A: %+.3f s", (lb - la).Seconds()); sum != want {
		t.Errorf("analysis says %q for %q against %q, want %q", sum, picked[1], picked[0], want)
	}
	// One click exports lap A for MoTeC i2 (and RaceChrono).
	for _, f := range []struct{ id, head string }{{"export-motec", `"Format","MoTeC CSV File"`}, {"export-racechrono", "This file is created using Pitwall"}} {
		href := eval[string](t, ctx, `$("`+f.id+`").href`)
		resp, err := http.Get(href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte(f.head)) || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s (%s): %s %q...", f.id, href, resp.Status, body[:min(len(body), 200)])
		}
	}
	if n := eval[float64](t, ctx, `[...document.querySelectorAll("td.delta.session")].filter(e => /^[+-]\d+\.\d\d$/.test(e.innerText)).length`); n == 0 {
		t.Error("no live delta to the session's best on the tower")
	}
	waitJS(t, ctx, "a car in the pit lane", `document.querySelector("tr.inpit td.pit .inpit") !== null`, 3*time.Minute)
	checkLayout(t, ctx)
	screenshot(t, ctx, "pitwall-web")

	// The best laps on the page equal the simulator's truth, for the laps
	// the page had when read.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](`[...document.querySelectorAll("#tower tbody tr")].map(tr => ({car: tr.dataset.car, best: tr.querySelector("td.best").innerText, laps: +tr.querySelector("td.laps").innerText}))`))
	if err != nil {
		t.Fatal(err)
	}
	stopUp() // the simulator has written its truth file once it stopped
	truth, err := simulator.ReadTruthFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		car, laps := r["car"].(string), int32(r["laps"].(float64))
		var best time.Duration
		for _, l := range truth {
			if l.Car == car && l.Lap <= laps && !l.PitLane && (best == 0 || l.LapTime() < best) {
				best = l.LapTime()
			}
		}
		got := parseLap(t, r["best"].(string))
		// 25 Hz GPS with the simulator's default noise: within 20 ms.
		if d := (got - best).Abs(); d > 20*time.Millisecond {
			t.Errorf("%s best %v on the page, truth %v over its first %d laps", car, got, best, laps)
		}
	}
}

// lowRates caps the simulator's fast channels (g_vert at 1 kHz, dampers
// at 500 Hz) at 50 Hz: the same channels for the page, ten times fewer
// samples for a race-detector build on a busy machine to carry at 8×.
var lowRates = map[string]int{telemetry.ChanGVert: 50, telemetry.ChanDamper + "_fl": 50, telemetry.ChanDamper + "_fr": 50,
	telemetry.ChanDamper + "_rl": 50, telemetry.ChanDamper + "_rr": 50}

// parseLap reads m:ss.mmm.
func parseLap(t *testing.T, s string) time.Duration {
	t.Helper()
	var m, sec, ms int
	if _, err := fmt.Sscanf(s, "%d:%d.%d", &m, &sec, &ms); err != nil {
		t.Fatalf("lap time %q: %v", s, err)
	}
	return time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond
}

// openUp runs pitwall up with cfg, serving the page on a free port, and
// loads the page in the browser. stopUp stops the run (once; the test's
// cleanup calls it too) and reports its error.
func openUp(t *testing.T, ctx context.Context, cfg up.Config) (stopUp func()) {
	t.Helper()
	run, stop := context.WithCancel(context.Background())
	upDone := make(chan error, 1)
	var stopOnce sync.Once
	stopUp = func() {
		stopOnce.Do(func() {
			stop()
			if err := <-upDone; err != nil {
				t.Errorf("pitwall up: %v", err)
			}
		})
	}
	t.Cleanup(stopUp)
	urls := make(chan string, 1)
	cfg.Web, cfg.OnWeb, cfg.Stdout = "127.0.0.1:0", func(u string) { urls <- u }, io.Discard
	go func() { upDone <- up.Run(run, cfg) }()
	var url string
	select {
	case url = <-urls:
	case err := <-upDone:
		upDone <- err
		t.Fatalf("pitwall up ended before serving the page: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	return stopUp
}
