package bench

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseArgsDefaults(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		duration time.Duration
		records  int64
		fsync    string
	}{
		{[]string{"produce"}, DefaultDuration, 0, "batch"},
		{[]string{"consume"}, 0, DefaultConsumeRecords, "batch"},
		{[]string{"consume", "--duration", "3s"}, 3 * time.Second, 0, "batch"},
		{[]string{"produce", "--brokers", "127.0.0.1:9092"}, DefaultDuration, 0, ""},
	} {
		o, err := ParseArgs(tc.args, new(bytes.Buffer))
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		c := o.Config
		if c.Duration != tc.duration || c.Records != tc.records || c.Fsync != tc.fsync {
			t.Errorf("%q: duration %v records %d fsync %q, want %v %d %q", tc.args, c.Duration, c.Records, c.Fsync, tc.duration, tc.records, tc.fsync)
		}
		if c.RecordSize != 1024 || c.Acks != "all" || c.Partitions != 12 || c.Clients != DefaultClients ||
			c.Compression != "none" || c.Client != ClientKgo || c.Peer != PeerKfake || c.Topic != DefaultTopic || o.JSON {
			t.Errorf("%q: unexpected defaults %+v", tc.args, c)
		}
	}
}

func TestParseArgsCluster(t *testing.T) {
	for _, tc := range []struct {
		args []string
		peer string
	}{
		{[]string{"produce", "--cluster", "3"}, PeerSingle},
		{[]string{"consume", "--cluster", "5", "--peer", "none"}, PeerNone},
		{[]string{"produce", "--cluster", "3", "--peer", "kfake"}, PeerKfake},
	} {
		o, err := ParseArgs(tc.args, new(bytes.Buffer))
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if o.Config.Peer != tc.peer || o.Config.Cluster == 0 || o.Config.Acks != "all" || o.Config.Fsync != "batch" {
			t.Errorf("%q: peer %q cluster %d acks %q fsync %q, want peer %q, acks all, fsync batch", tc.args,
				o.Config.Peer, o.Config.Cluster, o.Config.Acks, o.Config.Fsync, tc.peer)
		}
	}
}

func TestParseArgsFlagsAroundWorkload(t *testing.T) {
	o, err := ParseArgs([]string{"--acks", "1", "produce", "--record-size=512", "--records", "10",
		"--partitions", "3", "--producers", "7", "--compression", "zstd", "--fsync", "never",
		"--data-dir", "/tmp/x", "--peer", "none", "--topic", "t1", "--client", "kgo", "--json", "-v"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	c := o.Config
	want := Config{Workload: Produce, Acks: "1", RecordSize: 512, Records: 10, Partitions: 3, Clients: 7,
		Compression: "zstd", Fsync: "never", DataDir: "/tmp/x", Peer: PeerNone, Topic: "t1", Client: ClientKgo,
		Security: SecurityPlaintext, Mechanism: "SCRAM-SHA-512"}
	c.Logger = nil
	if c != want || !o.JSON || !o.Verbose {
		t.Errorf("got %+v json=%v v=%v\nwant %+v", c, o.JSON, o.Verbose, want)
	}
	o, err = ParseArgs([]string{"consume", "--clients", "3", "--acks", "-1"}, new(bytes.Buffer))
	if err != nil || o.Config.Clients != 3 || o.Config.Acks != "all" || o.Config.Workload != Consume {
		t.Errorf("--clients 3 --acks -1: %+v, %v", o.Config, err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want exactly one workload"},
		{[]string{"produce", "consume"}, "want exactly one workload"},
		{[]string{"fetch"}, `workload "fetch": want produce or consume`},
		{[]string{"produce", "--acks", "2"}, `--acks "2": want 0, 1 or all`},
		{[]string{"produce", "--duration", "1s", "--records", "5"}, "--duration and --records are exclusive"},
		{[]string{"produce", "--records", "-5"}, "--records -5: must be positive"},
		{[]string{"produce", "--duration", "-1s"}, "--duration -1s: must be positive"},
		{[]string{"produce", "--record-size", "-1"}, "--record-size -1: want 1..1048576"},
		{[]string{"produce", "--record-size", "2000000"}, "--record-size 2000000"},
		{[]string{"produce", "--partitions", "-3"}, "--partitions -3"},
		{[]string{"produce", "--clients", "1000"}, "--clients 1000"},
		{[]string{"produce", "--compression", "brotli"}, `--compression "brotli"`},
		{[]string{"produce", "--peer", "redpanda"}, `--peer "redpanda": want kfake, none, plaintext or single`},
		{[]string{"produce", "--cluster", "-1"}, "--cluster -1: want 1..9 brokers"},
		{[]string{"produce", "--cluster", "10"}, "--cluster 10: want 1..9 brokers"},
		{[]string{"produce", "--cluster", "3", "--brokers", "127.0.0.1:9092"}, "--cluster starts its own brokers: omit --brokers"},
		{[]string{"produce", "--cluster", "3", "--security", "SSL"}, "--cluster runs on PLAINTEXT"},
		{[]string{"produce", "--cluster", "3", "--peer", "plaintext"}, "--cluster runs on PLAINTEXT"},
		{[]string{"produce", "--peer", "single"}, "--peer single is the peer of --cluster"},
		{[]string{"produce", "--security", "SASL_PLAINTEXT"}, `--security "SASL_PLAINTEXT": want PLAINTEXT, SSL or SASL_SSL`},
		{[]string{"produce", "--security", "SASL_SSL", "--sasl-mechanism", "PLAIN"}, `--sasl-mechanism "PLAIN": the embedded broker's user is SCRAM`},
		{[]string{"produce", "--security", "ssl", "--client", "raw"}, "--client raw speaks PLAINTEXT only"},
		{[]string{"produce", "--brokers", "127.0.0.1:9092", "--security", "SSL"}, "--security and --peer plaintext apply to the embedded broker"},
		{[]string{"produce", "--tls"}, "--tls, --tls-ca, --tls-cert, --sasl-user apply to --brokers"},
		{[]string{"produce", "--brokers", "127.0.0.1:9092", "--sasl-mechanism", "SCRAM-SHA-256"}, "needs --sasl-user"},
		{[]string{"produce", "--brokers", "127.0.0.1:9092", "--tls", "--client", "raw"}, "--client raw speaks PLAINTEXT only"},
		{[]string{"produce", "--fsync", "always"}, `--fsync "always": want batch, interval or never`},
		{[]string{"produce", "--brokers", "127.0.0.1:9092", "--fsync", "never"}, "--fsync applies only to the embedded broker"},
		{[]string{"produce", "--brokers", "127.0.0.1:9092", "--data-dir", "/tmp"}, "--data-dir applies only to the embedded broker"},
		{[]string{"produce", "--brokers", "localhost"}, `--brokers "localhost": want host:port`},
	} {
		_, err := ParseArgs(tc.args, new(bytes.Buffer))
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want ErrConfig containing %q", tc.args, err, tc.want)
		}
	}
}

func TestParseArgsHelpAndBadFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := ParseArgs([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "usage: pitwall bench produce|consume") || !strings.Contains(out.String(), "-record-size") {
		t.Errorf("usage text missing:\n%s", out.String())
	}
	out.Reset()
	if _, err := ParseArgs([]string{"produce", "--bogus"}, &out); err == nil || !strings.Contains(out.String(), "-bogus") {
		t.Errorf("--bogus: %v, output %q", err, out.String())
	}
	if _, err := ParseArgs([]string{"produce", "--records", "many"}, new(bytes.Buffer)); err == nil {
		t.Error("--records many parsed")
	}
}
