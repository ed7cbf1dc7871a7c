package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// runTopics is `pitwall topics list|create|describe|delete`: topic
// administration (package admin) using only standard admin APIs
// (Metadata, CreateTopics, DeleteTopics, DescribeConfigs), so the same
// commands and the same output work against Apache Kafka.
func runTopics(ctx context.Context, args []string) error {
	return topicsMain(ctx, args, os.Stdout, os.Stderr)
}

// topicsCmd is one parsed `pitwall topics` command line.
type topicsCmd struct {
	action     string
	names      []string
	brokers    string
	partitions int
	rf         int
	configs    configFlag
	sec        kafkasec.Config
	set        map[string]bool // flags given explicitly
}

func topicsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseTopics(args, stderr)
	if err != nil {
		return err
	}
	return withAdminSec(ctx, c.brokers, "pitwall-topics", c.sec, stdout, func(ac *admin.Client, out io.Writer) error {
		switch c.action {
		case "list":
			return printTopics(ac, out)
		case "create":
			return createTopic(ac, c, out)
		case "describe":
			return describeTopics(ac, c.names, out)
		default: // "delete"; parseTopics let no other action through
			return deleteTopic(ac, c.names[0], out)
		}
	})
}

// withAdminSec connects to brokers, with TLS and SASL as sec (loaded)
// says, for the length of one admin command, and prints what run wrote
// only if it succeeds: nothing of a command that fails half way.
func withAdminSec(ctx context.Context, brokers, clientID string, sec kafkasec.Config, stdout io.Writer, run func(*admin.Client, io.Writer) error) error {
	ac, err := admin.DialSecure(ctx, brokers, clientID, sec)
	if err != nil {
		return err
	}
	defer ac.Close()
	var out bytes.Buffer
	if err := run(ac, &out); err != nil {
		return err
	}
	_, err = out.WriteTo(stdout)
	return err
}

func parseTopics(args []string, stderr io.Writer) (*topicsCmd, error) {
	c := &topicsCmd{}
	fs := newFlagSet("topics", "list|create NAME|describe NAME...|delete NAME [flags]")
	fs.SetOutput(stderr)
	fs.StringVar(&c.brokers, "brokers", "127.0.0.1:9092", "bootstrap brokers, host:port[,host:port]")
	fs.IntVar(&c.partitions, "partitions", 0, "create: partition count (default: the broker's default)")
	fs.IntVar(&c.rf, "replication-factor", 0, "create: replicas of each partition (default: the broker's default, 1 on a single broker)")
	fs.Var(&c.configs, "config", "create: topic config key=value (repeatable), e.g. retention.ms=3600000")
	c.sec.AddFlags(fs)
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	// Fill flags not given on the command line from PITWALL_* variables.
	if err := parseFlags(fs, nil); err != nil {
		return nil, err
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if len(pos) == 0 {
		fs.Usage()
		return nil, errors.New("want an action: list, create, describe or delete")
	}
	c.action, c.names = pos[0], pos[1:]
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.sec, err = c.sec.Load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *topicsCmd) validate() error {
	switch c.action {
	case "list":
		if len(c.names) != 0 {
			return fmt.Errorf("list takes no topic names, got %q", c.names)
		}
	case "describe":
		if len(c.names) == 0 {
			return errors.New("describe wants at least one topic name")
		}
	case "create", "delete":
		if len(c.names) != 1 {
			return fmt.Errorf("%s wants exactly one topic name, got %q", c.action, c.names)
		}
	default:
		return fmt.Errorf("unknown action %q: want list, create, describe or delete", c.action)
	}
	if c.action != "create" {
		for _, f := range []string{"partitions", "replication-factor", "config"} {
			if c.set[f] {
				return fmt.Errorf("--%s applies only to create", f)
			}
		}
		return nil
	}
	if err := admin.ValidTopicName(c.names[0]); err != nil {
		return err
	}
	if c.partitions < 0 || c.set["partitions"] && c.partitions == 0 || c.partitions > 1<<20 {
		return fmt.Errorf("--partitions %d: want 1 or more", c.partitions)
	}
	if c.set["replication-factor"] && c.rf < 1 || c.rf < 0 || c.rf > 1<<15-1 {
		return fmt.Errorf("--replication-factor %d: want 1 or more", c.rf)
	}
	return nil
}

// configFlag collects repeated --config key=value flags.
type configFlag map[string]string

func (f *configFlag) String() string {
	if f == nil {
		return ""
	}
	keys := make([]string, 0, len(*f))
	for k, v := range *f {
		keys = append(keys, k+"="+v)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func (f *configFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value", s)
	}
	if *f == nil {
		*f = configFlag{}
	}
	if _, dup := (*f)[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	(*f)[k] = v
	return nil
}

func createTopic(ac *admin.Client, c *topicsCmd, out io.Writer) error {
	spec := telemetry.TopicSpec{Name: c.names[0], Partitions: int32(c.partitions), Configs: c.configs}
	rf := int16(c.rf)
	if !c.set["replication-factor"] {
		rf = -1 // the broker's default
	}
	if err := ac.CreateTopic(spec, rf); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "created topic %s\n", spec.Name)
	return err
}

func deleteTopic(ac *admin.Client, name string, out io.Writer) error {
	if err := ac.DeleteTopic(name); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "deleted topic %s\n", name)
	return err
}

// printTopics prints every topic, sorted by name, as an aligned table.
func printTopics(ac *admin.Client, out io.Writer) error {
	topics, err := ac.ListTopics()
	if err != nil {
		return err
	}
	rows := [][]string{{"TOPIC", "PARTITIONS", "REPLICATION-FACTOR"}}
	for _, t := range topics {
		rows = append(rows, []string{t.Name, itoa(t.Partitions), itoa(t.ReplicationFactor)})
	}
	return writeTable(out, rows)
}

// describeTopics prints, per topic, a header, its partitions and its
// configs, with a blank line between topics.
func describeTopics(ac *admin.Client, names []string, out io.Writer) error {
	descs, err := ac.DescribeTopics(names)
	if err != nil {
		return err
	}
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := describeOne(out, d); err != nil {
			return err
		}
	}
	return nil
}

func describeOne(out io.Writer, d admin.TopicDescription) error {
	fmt.Fprintf(out, "topic: %s\npartitions: %d\nreplication-factor: %d\n\n", d.Name, len(d.Partitions), d.ReplicationFactor)
	rows := [][]string{{"PARTITION", "LEADER", "REPLICAS", "ISR"}}
	for _, p := range d.Partitions {
		rows = append(rows, []string{itoa(p.ID), itoa(p.Leader), joinIDs(p.Replicas), joinIDs(p.ISR)})
	}
	if err := writeTable(out, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rows = [][]string{{"CONFIG", "VALUE", "SOURCE"}}
	for _, e := range d.Configs {
		rows = append(rows, []string{e.Name, configValue(e), e.Source})
	}
	return writeTable(out, rows)
}

// configValue quotes empty values so every row keeps three fields.
func configValue(e admin.Config) string {
	switch {
	case e.Sensitive:
		return "(sensitive)"
	case e.Value == "":
		return `""`
	}
	return e.Value
}

func joinIDs(ids []int32) string {
	if len(ids) == 0 {
		return "-"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = itoa(id)
	}
	return strings.Join(s, ",")
}

func itoa[T int16 | int32](v T) string { return strconv.Itoa(int(v)) }

// writeTable writes rows as space-aligned columns without trailing blanks.
func writeTable(out io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
