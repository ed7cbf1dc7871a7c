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
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/cli"
)

// runTopics is `pitwall topics list|create|describe|delete`: topic
// administration through sarama's ClusterAdmin, using only standard admin
// APIs (Metadata, CreateTopics, DeleteTopics, DescribeConfigs), so the same
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
	set        map[string]bool // flags given explicitly
}

func topicsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseTopics(args, stderr)
	if err != nil {
		return err
	}
	admin, err := newAdmin(c.brokers)
	if err != nil {
		return err
	}
	// sarama takes no context: closing the admin is what makes a call in
	// progress give up when ctx ends (SIGINT).
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { defer close(closed); _ = admin.Close() })
	defer func() {
		if stop() {
			_ = admin.Close()
		} else {
			<-closed
		}
	}()
	var out bytes.Buffer // print nothing of a command that fails half way
	switch c.action {
	case "list":
		err = listTopics(admin, &out)
	case "create":
		err = createTopic(admin, c, &out)
	case "describe":
		err = describeTopics(admin, c.names, &out)
	case "delete":
		err = deleteTopic(admin, c.names[0], &out)
	}
	if err != nil {
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
	fs.IntVar(&c.rf, "replication-factor", 1, "create: replicas of each partition")
	fs.Var(&c.configs, "config", "create: topic config key=value (repeatable), e.g. retention.ms=3600000")
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
	if err := validTopicName(c.names[0]); err != nil {
		return err
	}
	if c.partitions < 0 || c.set["partitions"] && c.partitions == 0 || c.partitions > 1<<20 {
		return fmt.Errorf("--partitions %d: want 1 or more", c.partitions)
	}
	if c.rf < 1 || c.rf > 1<<15-1 {
		return fmt.Errorf("--replication-factor %d: want 1 or more", c.rf)
	}
	return nil
}

// validTopicName applies Kafka's rules, so a bad name fails before any
// request and with a clear message.
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf(`invalid topic name %q: want 1 to 249 characters, not "." or ".."`, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("invalid topic name %q: only letters, digits, '.', '_' and '-' are allowed", name)
		}
	}
	return nil
}

// configFlag collects repeated --config key=value flags.
type configFlag map[string]*string

func (f *configFlag) String() string {
	if f == nil {
		return ""
	}
	keys := make([]string, 0, len(*f))
	for k, v := range *f {
		keys = append(keys, k+"="+*v)
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
	(*f)[k] = &v
	return nil
}

// adminConfig is the sarama configuration of the admin commands (topics,
// groups): short dial timeout so a wrong --brokers fails fast.
func adminConfig(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = clientID
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Admin.Timeout = 30 * time.Second
	return cfg
}

func newAdmin(brokers string) (sarama.ClusterAdmin, error) {
	seeds, err := cli.SplitBrokers(brokers)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdmin(seeds, adminConfig("pitwall-topics"))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", brokers, err)
	}
	return admin, nil
}

// topicError turns the Kafka errors a user can cause into plain sentences.
func topicError(name string, err error) error {
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		return fmt.Errorf("topic %s already exists", name)
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		return fmt.Errorf("topic %s does not exist", name)
	}
	return fmt.Errorf("topic %s: %w", name, err)
}

func createTopic(admin sarama.ClusterAdmin, c *topicsCmd, out io.Writer) error {
	name := c.names[0]
	detail := &sarama.TopicDetail{
		NumPartitions:     int32(c.partitions),
		ReplicationFactor: int16(c.rf),
		ConfigEntries:     c.configs,
	}
	if c.partitions == 0 {
		detail.NumPartitions = -1 // the broker's default (CreateTopics v4+)
	}
	if err := admin.CreateTopic(name, detail, false); err != nil {
		return topicError(name, err)
	}
	_, err := fmt.Fprintf(out, "created topic %s\n", name)
	return err
}

func deleteTopic(admin sarama.ClusterAdmin, name string, out io.Writer) error {
	if err := admin.DeleteTopic(name); err != nil {
		return topicError(name, err)
	}
	_, err := fmt.Fprintf(out, "deleted topic %s\n", name)
	return err
}

// listTopics prints every topic, sorted by name, as an aligned table.
func listTopics(admin sarama.ClusterAdmin, out io.Writer) error {
	topics, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	names := make([]string, 0, len(topics))
	for n := range topics {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := [][]string{{"TOPIC", "PARTITIONS", "REPLICATION-FACTOR"}}
	for _, n := range names {
		d := topics[n]
		rows = append(rows, []string{n, itoa(d.NumPartitions), itoa(d.ReplicationFactor)})
	}
	return writeTable(out, rows)
}

// describeTopics prints, per topic, a header, its partitions and its
// configs, with a blank line between topics.
func describeTopics(admin sarama.ClusterAdmin, names []string, out io.Writer) error {
	metas, err := admin.DescribeTopics(names)
	if err != nil {
		return fmt.Errorf("describe topics: %w", err)
	}
	byName := make(map[string]*sarama.TopicMetadata, len(metas))
	for _, m := range metas {
		byName[m.Name] = m
	}
	for i, name := range names {
		m := byName[name]
		if m == nil {
			return fmt.Errorf("topic %s: missing from the broker's answer", name)
		}
		if !errors.Is(m.Err, sarama.ErrNoError) {
			return topicError(name, m.Err)
		}
		configs, err := topicConfigs(admin, name)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := describeOne(out, m, configs); err != nil {
			return err
		}
	}
	return nil
}

func topicConfigs(admin sarama.ClusterAdmin, name string) ([]sarama.ConfigEntry, error) {
	res, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: name}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, fmt.Errorf("topic %s: describe configs: %w", name, err)
	}
	for _, r := range res {
		if r.Name != name {
			continue
		}
		if !errors.Is(r.ErrorCode, sarama.ErrNoError) {
			return nil, topicError(name, fmt.Errorf("describe configs: %w", r.ErrorCode))
		}
		entries := slices.Clone(r.Configs)
		slices.SortFunc(entries, func(a, b sarama.ConfigEntry) int { return strings.Compare(a.Name, b.Name) })
		return entries, nil
	}
	return nil, fmt.Errorf("topic %s: describe configs: no answer for the topic", name)
}

func describeOne(out io.Writer, m *sarama.TopicMetadata, configs []sarama.ConfigEntry) error {
	parts := slices.Clone(m.Partitions)
	slices.SortFunc(parts, func(a, b *sarama.PartitionMetadata) int { return int(a.ID - b.ID) })
	rf := 0
	if len(parts) > 0 {
		rf = len(parts[0].Replicas)
	}
	fmt.Fprintf(out, "topic: %s\npartitions: %d\nreplication-factor: %d\n\n", m.Name, len(parts), rf)
	rows := [][]string{{"PARTITION", "LEADER", "REPLICAS", "ISR"}}
	for _, p := range parts {
		rows = append(rows, []string{itoa(p.ID), itoa(p.Leader), joinIDs(p.Replicas), joinIDs(p.Isr)})
	}
	if err := writeTable(out, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rows = [][]string{{"CONFIG", "VALUE", "SOURCE"}}
	for _, e := range configs {
		rows = append(rows, []string{e.Name, configValue(e), configSource(e.Source)})
	}
	return writeTable(out, rows)
}

// configValue quotes empty values so every row keeps three fields.
func configValue(e sarama.ConfigEntry) string {
	switch {
	case e.Sensitive:
		return "(sensitive)"
	case e.Value == "":
		return `""`
	}
	return e.Value
}

// configSource names where a config's value comes from, as kafka-configs
// does.
func configSource(s sarama.ConfigSource) string {
	switch s {
	case sarama.SourceTopic:
		return "topic"
	case sarama.SourceDynamicBroker:
		return "dynamic-broker"
	case sarama.SourceDynamicDefaultBroker:
		return "dynamic-default-broker"
	case sarama.SourceStaticBroker:
		return "static-broker"
	case sarama.SourceDefault:
		return "default"
	}
	return "unknown"
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
