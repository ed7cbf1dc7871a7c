package processors_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"syscall"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/telemetry"
)

// TestHelperProcessor is not a test: it is the child processor of
// TestCrash, run by re-executing the test binary.
func TestHelperProcessor(t *testing.T) {
	addr := os.Getenv("PITWALL_TEST_CHILD_BROKER")
	if addr == "" {
		return
	}
	cfg := config(t, addr, os.Getenv("PITWALL_TEST_CHILD_GROUP"), nil)
	cfg.Influx = &influx.Config{URL: os.Getenv("PITWALL_TEST_CHILD_INFLUX"), Bucket: os.Getenv("PITWALL_TEST_CHILD_DB")}
	processors.Run(context.Background(), cfg) // until SIGKILL
}

// One of two processors is killed with SIGKILL in the middle of the run;
// the survivor takes its partitions over. telemetry.laps and InfluxDB end
// up with exactly the laps of a clean run (a new group re-reading the
// retained log afterwards, which also shows reprocessing reproduces them).
func TestCrash(t *testing.T) {
	t.Parallel() // own broker and influxd
	b := brokertest.Start(t)
	srv := influxtest.Start(t)
	if _, err := srv.Query("CREATE DATABASE clean"); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcessor$")
	child.Env = append(os.Environ(), "PITWALL_TEST_CHILD_BROKER="+b.Addr, "PITWALL_TEST_CHILD_GROUP=crash",
		"PITWALL_TEST_CHILD_INFLUX="+srv.URL, "PITWALL_TEST_CHILD_DB="+srv.Database)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { child.Process.Signal(syscall.SIGKILL); child.Wait() }) }
	t.Cleanup(kill)
	startProcessor(t, config(t, b.Addr, "crash", srv))

	var truth []telemetry.Lap
	done := make(chan struct{})
	go func() { defer close(done); truth = simulate(t, b.Addr) }()
	waitLaps(t, b.Addr, "crash", 1) // the run is under way: laps are coming out
	kill()
	slog.Info("test: child processor killed") // timestamped, next to the survivor's claims
	<-done
	got := waitLaps(t, b.Addr, "crash", len(truth))
	checkTruth(t, got, truth)

	clean := config(t, b.Addr, "clean", nil)
	clean.Influx = &influx.Config{URL: srv.URL, Bucket: "clean"}
	stop := startProcessor(t, clean)
	want := waitLaps(t, b.Addr, "clean", len(truth))
	stop()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("laps after the crash differ from a clean run:\n%v\nclean:\n%v", summary(got), summary(want))
	}
	crashRows := influxRows(t, srv, srv.Database)
	cleanRows := influxRows(t, srv, "clean")
	if len(cleanRows) != len(truth) || !reflect.DeepEqual(crashRows, cleanRows) {
		t.Errorf("InfluxDB laps after the crash:\n%v\nclean run:\n%v", crashRows, cleanRows)
	}
}

func influxRows(t *testing.T, srv *influxtest.Server, db string) [][]any {
	t.Helper()
	body, err := srv.Query(`SELECT "car", "lap", "lap_time", "s1", "s2", "s3", "pit_lane", "valid", "top_speed", "fuel_used", "delta_car_best_s" FROM "` + db + `"."autogen"."lap"`)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Results []struct {
			Series []struct {
				Values [][]any
			}
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) == 0 || len(resp.Results[0].Series) == 0 {
		return nil
	}
	return resp.Results[0].Series[0].Values
}
