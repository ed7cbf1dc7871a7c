package edge

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// A catalogs-file save that does not finish does not hold any source's
// port: with the save stuck, every frame of every car is still read,
// spooled and acknowledged. (The save used to run in the reader of the
// car whose catalog changed, under the lock every other car's catalog
// needed, one fsynced write after another at the start of a session.)
func TestCatalogSaveDoesNotHoldTheReaders(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	a, bEnd, _ := socatPair(t)
	cfg := testConfig(t, b.Addr, "serial:"+a+"?baud=115200")
	e, stop := startEdge(t, cfg)
	saving, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.cats.mu.Lock() // the saver reads the hook under mu; nothing is announced yet
	e.cats.beforeSave = func() {
		once.Do(func() { close(saving) })
		<-release
	}
	e.cats.mu.Unlock()
	var released sync.Once
	unblock := func() { released.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before startEdge's cleanup stops the edge

	simCfg := simulator.Config{Cars: 3, Duration: 2 * time.Second, Seed: 11, Out: "serial:" + bEnd, Logger: quietLogger()}
	want, _ := simFrames(t, simCfg)
	simCtx, simDone := context.WithTimeout(context.Background(), time.Minute)
	defer simDone()
	if err := simulator.Run(simCtx, simCfg); err != nil {
		t.Fatalf("the simulator could not write its 2 s to the port in a minute (the edge stopped reading it?): %v", err)
	}
	n := countFrames(want)
	waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= int64(n) })
	select {
	case <-saving:
	default:
		t.Fatal("no catalogs-file save started, though three cars announced their catalogs")
	}
	unblock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The saver wrote every car's catalog before Run returned.
	again, err := New(testConfigDir(t, b.Addr, cfg.Spool.Dir, "serial:"+a))
	if err != nil {
		t.Fatal(err)
	}
	defer again.spool.Close()
	if len(again.cats.last) != 3 {
		t.Fatalf("catalogs file holds %d cars, want 3", len(again.cats.last))
	}
	for car, en := range again.cats.last {
		if !en.spooled || en.c.Car != car || len(en.c.Channels) == 0 {
			t.Fatalf("catalogs file: car %s: %+v", car, en)
		}
	}
}

// A catalog goes into the catalogs file only once its record is in the
// spool; one the spool refused is forgotten, so the logger's next repeat
// is published rather than taken for a repeat.
func TestCatalogFileFollowsTheSpool(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "127.0.0.1:1", "serial:"+filepath.Join(t.TempDir(), "no-port")) // never opened
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := telemetry.ChannelCatalog{Car: "car07", Session: "s1", TimeNs: 1, Channels: []telemetry.Channel{
		{ID: 1, Name: telemetry.ChanSpeed, Unit: "km/h", RateHz: 200, Max: 400}}}
	m := &emitter{e: e, name: "test", stats: &sourceStats{name: "test"}}
	if err := m.Catalog(&cat, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.saveCatalogsOnce()
	if again := reopenCatalogs(t, e, cfg); len(again) != 0 {
		t.Fatalf("catalogs file holds %d cars before the record was spooled, want 0", len(again))
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if e.catalogChanged(&cat) != nil {
		t.Fatal("a spooled catalog repeated was taken for a change")
	}
	e.saveCatalogsOnce()
	if again := reopenCatalogs(t, e, cfg); len(again) != 1 || again["car07"] == nil || again["car07"].c.Session != "s1" {
		t.Fatalf("catalogs file after the record was spooled: %v", again)
	}

	// The spool refuses the next catalog (closed): it is forgotten.
	cat.Session = "s2"
	if err := m.Catalog(&cat, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.spool.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(); err == nil {
		t.Fatal("Flush into a closed spool succeeded")
	}
	if e.catalogChanged(&cat) == nil {
		t.Fatal("a catalog the spool refused was taken for a repeat: the broker would never get it")
	}
}

// reopenCatalogs reads the catalogs file e saved, as a restarted edge.
func reopenCatalogs(t *testing.T, e *Edge, cfg Config) map[string]*catalogEntry {
	t.Helper()
	r := &Edge{cfg: cfg, log: quietLogger(), codec: e.codec, cats: catalogs{last: map[string]*catalogEntry{}}}
	r.loadCatalogs()
	return r.cats.last
}

// testConfigDir is testConfig on the spool directory dir.
func testConfigDir(t testing.TB, broker, dir string, inputs ...string) Config {
	cfg := testConfig(t, broker, inputs...)
	cfg.Spool.Dir = dir
	return cfg
}
