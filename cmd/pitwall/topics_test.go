package main

import (
	"bytes"
	"errors"
	"flag"
	"net"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kfake"
)

// topics runs `pitwall topics args...` and returns what it printed.
func topics(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := topicsMain(t.Context(), args, &out, &errOut)
	return out.String(), err
}

func mustTopics(t *testing.T, args ...string) string {
	t.Helper()
	out, err := topics(t, args...)
	if err != nil {
		t.Fatalf("pitwall topics %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// fields splits output into lines of whitespace-separated fields.
func fields(out string) [][]string {
	var rows [][]string
	for line := range strings.Lines(out) {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestTopicsRoundTrip(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for name, addr := range map[string]string{"pitwall": brokertest.Start(t).Addr, "kfake": fake.ListenAddrs()[0]} {
		t.Run(name, func(t *testing.T) { topicsRoundTrip(t, addr) })
	}
}

func topicsRoundTrip(t *testing.T, addr string) {
	b := "--brokers=" + addr
	if got := mustTopics(t, "create", "cars", b, "--partitions", "3", "--config", "retention.ms=3600000"); got != "created topic cars\n" {
		t.Errorf("create printed %q", got)
	}
	mustTopics(t, b, "create", "laps", "--partitions=1")
	if _, err := topics(t, "create", "cars", b, "--partitions", "3"); err == nil || err.Error() != "topic cars already exists" {
		t.Errorf("second create: %v, want \"topic cars already exists\"", err)
	}

	list := mustTopics(t, "list", b)
	want := "TOPIC  PARTITIONS  REPLICATION-FACTOR\ncars   3           1\nlaps   1           1\n"
	if list != want {
		t.Errorf("list printed\n%s\nwant\n%s", list, want)
	}

	desc := mustTopics(t, "describe", "cars", b)
	if !strings.HasPrefix(desc, "topic: cars\npartitions: 3\nreplication-factor: 1\n\nPARTITION  LEADER  REPLICAS  ISR\n") {
		t.Errorf("describe header:\n%s", desc)
	}
	rows := fields(desc)
	for p := range 3 { // rows 5..7: partition, leader, replicas, isr
		r := rows[5+p]
		if len(r) != 4 || r[0] != itoa(int32(p)) || r[1] != r[2] || r[2] != r[3] {
			t.Errorf("partition row %q: want %d and one node as leader, replicas and ISR", r, p)
		}
	}
	if len(rows[8]) != 0 || strings.Join(rows[9], " ") != "CONFIG VALUE SOURCE" {
		t.Errorf("no config table after a blank line:\n%s", desc)
	}
	if !hasRow(rows[10:], "retention.ms", "3600000", "topic") {
		t.Errorf("describe lacks retention.ms 3600000 from the topic:\n%s", desc)
	}
	for _, r := range rows[10:] {
		if len(r) != 3 {
			t.Errorf("config row %q: want 3 fields", r)
		}
	}

	// Two topics: two blocks, the second after a blank line.
	both := mustTopics(t, "describe", "cars", "laps", b)
	if !strings.HasPrefix(both, desc+"\ntopic: laps\npartitions: 1\n") {
		t.Errorf("describe cars laps:\n%s", both)
	}

	if got := mustTopics(t, "delete", "cars", b); got != "deleted topic cars\n" {
		t.Errorf("delete printed %q", got)
	}
	if got := mustTopics(t, "list", b); got != "TOPIC  PARTITIONS  REPLICATION-FACTOR\nlaps   1           1\n" {
		t.Errorf("list after delete:\n%s", got)
	}
	for _, action := range []string{"describe", "delete"} {
		out, err := topics(t, action, "cars", b)
		if err == nil || err.Error() != "topic cars does not exist" || out != "" {
			t.Errorf("%s of a deleted topic: %v, printed %q; want \"topic cars does not exist\" and nothing", action, err, out)
		}
	}
}

func hasRow(rows [][]string, want ...string) bool {
	for _, r := range rows {
		if strings.Join(r, "\x00") == strings.Join(want, "\x00") {
			return true
		}
	}
	return false
}

func TestTopicsArgumentErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want an action"},
		{[]string{"rename", "a"}, `unknown action "rename"`},
		{[]string{"create"}, "create wants exactly one topic name"},
		{[]string{"create", "a", "b"}, "create wants exactly one topic name"},
		{[]string{"delete"}, "delete wants exactly one topic name"},
		{[]string{"describe"}, "describe wants at least one topic name"},
		{[]string{"list", "cars"}, "list takes no topic names"},
		{[]string{"list", "--partitions", "3"}, "--partitions applies only to create"},
		{[]string{"delete", "cars", "--config", "a=b"}, "--config applies only to create"},
		{[]string{"create", "cars", "--partitions", "0"}, "--partitions 0: want 1 or more"},
		{[]string{"create", "cars", "--replication-factor", "0"}, "--replication-factor 0"},
		{[]string{"create", "cars", "--config", "retention.ms"}, `"retention.ms": want key=value`},
		{[]string{"create", "cars", "--config", "a=1", "--config", "a=2"}, "a given twice"},
		{[]string{"create", "car/s"}, `invalid topic name "car/s"`},
		{[]string{"create", ".."}, `invalid topic name ".."`},
		{[]string{"create", strings.Repeat("x", 250)}, "want 1 to 249 characters"},
		{[]string{"list", "--brokers", ""}, "--brokers: want host:port"},
	} {
		out, err := topics(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: %v (printed %q), want an error containing %q", tc.args, err, out, tc.want)
		}
	}
	if _, err := topics(t, "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestTopicsUnreachableBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = topics(t, "list", "--brokers", addr)
	if err == nil || !strings.Contains(err.Error(), "connect to "+addr) {
		t.Errorf("list against a closed port: %v, want \"connect to %s: ...\"", err, addr)
	}
}

func TestTopicsBrokersFromEnvironment(t *testing.T) {
	b := brokertest.Start(t)
	t.Setenv("PITWALL_BROKERS", b.Addr)
	mustTopics(t, "create", "env-topic", "--partitions", "2")
	mustTopics(t, "create", "defaulted") // the broker's default: 12
	want := "TOPIC      PARTITIONS  REPLICATION-FACTOR\ndefaulted  12          1\nenv-topic  2           1\n"
	if got := mustTopics(t, "list"); got != want {
		t.Errorf("list via PITWALL_BROKERS:\n%s\nwant\n%s", got, want)
	}
}
