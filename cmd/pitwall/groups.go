package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runGroups is `pitwall groups list|describe GROUP`: consumer groups as
// the group coordinator sees them (package admin), through only standard
// APIs (ListGroups, DescribeGroups, OffsetFetch, ListOffsets), so the same
// commands and output work against Apache Kafka.
func runGroups(ctx context.Context, args []string) error {
	return groupsMain(ctx, args, os.Stdout, os.Stderr)
}

func groupsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sec kafkasec.Config
	action, name, brokers, err := parseGroups(args, stderr, &sec)
	if err != nil {
		return err
	}
	if sec, err = sec.Load(); err != nil {
		return err
	}
	return withAdminSec(ctx, brokers, "pitwall-groups", sec, stdout, func(ac *admin.Client, out io.Writer) error {
		if action == "list" {
			return printGroups(ac, out)
		}
		return describeGroup(ac, name, out)
	})
}

// parseGroups parses the command line; the TLS and SASL flags go to sec.
func parseGroups(args []string, stderr io.Writer, sec *kafkasec.Config) (action, name, brokers string, err error) {
	fs := newFlagSet("groups", "list|describe GROUP [flags]")
	fs.SetOutput(stderr)
	fs.StringVar(&brokers, "brokers", "127.0.0.1:9092", "bootstrap brokers, host:port[,host:port]")
	sec.AddFlags(fs)
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return "", "", "", err
	}
	if err := parseFlags(fs, nil); err != nil { // PITWALL_* variables
		return "", "", "", err
	}
	switch {
	case len(pos) == 0:
		fs.Usage()
		return "", "", "", errors.New("want an action: list or describe")
	case pos[0] == "list" && len(pos) == 1:
		return "list", "", brokers, nil
	case pos[0] == "list":
		return "", "", "", fmt.Errorf("list takes no group names, got %q", pos[1:])
	case pos[0] == "describe" && len(pos) == 2 && pos[1] != "":
		return "describe", pos[1], brokers, nil
	case pos[0] == "describe":
		return "", "", "", fmt.Errorf("describe wants exactly one group name, got %q", pos[1:])
	}
	return "", "", "", fmt.Errorf("unknown action %q: want list or describe", pos[0])
}

// printGroups prints every group with its state, protocol type and
// member count, sorted by name.
func printGroups(ac *admin.Client, out io.Writer) error {
	groups, err := ac.ListGroups()
	if err != nil {
		return err
	}
	rows := [][]string{{"GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"}}
	for _, g := range groups {
		state, members := "?", "?"
		if g.Described {
			state, members = g.State, strconv.Itoa(g.Members)
		}
		rows = append(rows, []string{g.Name, state, orDash(g.ProtocolType), members})
	}
	return writeTable(out, rows)
}

// describeGroup prints a group's state and protocol, its members with
// their partitions, and per partition the committed offset, the end of
// the partition and the lag between them.
func describeGroup(ac *admin.Client, name string, out io.Writer) error {
	g, err := ac.DescribeGroup(name)
	if err != nil {
		return err
	}
	protocol := orDash(g.ProtocolType)
	if g.Protocol != "" {
		protocol += "/" + g.Protocol
	}
	fmt.Fprintf(out, "group: %s\nstate: %s\nprotocol: %s\nmembers: %d\n\n", g.Name, g.State, protocol, len(g.Members))
	rows := [][]string{{"MEMBER", "CLIENT-ID", "HOST", "PARTITIONS"}}
	for _, m := range g.Members {
		rows = append(rows, []string{m.ID, orDash(m.ClientID), orDash(m.Host), formatOwned(m.Owns)})
	}
	if err := writeTable(out, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rows = [][]string{{"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "IN-LAP", "MEMBER"}}
	inLap := false
	for _, o := range g.Offsets {
		c, lag, held := "-", "-", "-"
		if o.Committed >= 0 {
			c, lag = strconv.FormatInt(o.Committed, 10), strconv.FormatInt(o.Lag, 10)
		}
		if o.InLap >= 0 {
			held, inLap = strconv.FormatInt(o.InLap, 10), true
		}
		rows = append(rows, []string{o.Topic, itoa(o.Partition), c, strconv.FormatInt(o.End, 10), lag, held, orDash(o.Member)})
	}
	if err := writeTable(out, rows); err != nil {
		return err
	}
	if inLap {
		_, err := fmt.Fprint(out, inLapNote)
		return err
	}
	return nil
}

// inLapNote explains LAG and IN-LAP under a lap processor's group.
const inLapNote = `
LAG: records not processed yet. IN-LAP: records processed but kept for laps
still open: the committed offset is the start of the oldest open lap, where
a restarted processor resumes, so Kafka's own tools show LAG + IN-LAP as lag.
`

// formatOwned prints assigned partitions as "topic:0,1;other:3".
func formatOwned(owns map[string][]int32) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(owns)) {
		if len(owns[t]) == 0 {
			continue
		}
		ps := make([]string, len(owns[t]))
		for i, p := range owns[t] {
			ps[i] = itoa(p)
		}
		parts = append(parts, t+":"+strings.Join(ps, ","))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ";")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
