package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/cli"
)

// runGroups is `pitwall groups list|describe GROUP`: consumer groups as
// the group coordinator sees them, through sarama's ClusterAdmin and only
// standard APIs (ListGroups, DescribeGroups, OffsetFetch, ListOffsets), so
// the same commands and output work against Apache Kafka.
func runGroups(ctx context.Context, args []string) error {
	return groupsMain(ctx, args, os.Stdout, os.Stderr)
}

func groupsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	action, name, brokers, err := parseGroups(args, stderr)
	if err != nil {
		return err
	}
	client, err := newGroupsClient(brokers)
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return err
	}
	// sarama takes no context: closing the admin (and its client) is
	// what makes a call in progress give up when ctx ends.
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
	switch action {
	case "list":
		err = listGroups(admin, &out)
	case "describe":
		err = describeGroup(admin, client, name, &out)
	}
	if err != nil {
		return err
	}
	_, err = out.WriteTo(stdout)
	return err
}

func parseGroups(args []string, stderr io.Writer) (action, name, brokers string, err error) {
	fs := newFlagSet("groups", "list|describe GROUP [flags]")
	fs.SetOutput(stderr)
	fs.StringVar(&brokers, "brokers", "127.0.0.1:9092", "bootstrap brokers, host:port[,host:port]")
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

func newGroupsClient(brokers string) (sarama.Client, error) {
	seeds, err := cli.SplitBrokers(brokers)
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(seeds, adminConfig("pitwall-groups"))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", brokers, err)
	}
	return client, nil
}

// listGroups prints every group with its state, protocol type and member
// count, sorted by name.
func listGroups(admin sarama.ClusterAdmin, out io.Writer) error {
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := [][]string{{"GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"}}
	if len(names) > 0 {
		descs, err := admin.DescribeConsumerGroups(names)
		if err != nil {
			return fmt.Errorf("describe groups: %w", err)
		}
		byName := map[string]*sarama.GroupDescription{}
		for _, d := range descs {
			byName[d.GroupId] = d
		}
		for _, n := range names {
			state, members := "?", "?"
			if d := byName[n]; d != nil && errors.Is(d.Err, sarama.ErrNoError) {
				state, members = d.State, strconv.Itoa(len(d.Members))
			}
			rows = append(rows, []string{n, state, orDash(groups[n]), members})
		}
	}
	return writeTable(out, rows)
}

// memberRow is one member of a described group.
type memberRow struct {
	id, clientID, host string
	owns               map[string][]int32
}

// describeGroup prints a group's state and protocol, its members with
// their partitions, and per partition the committed offset, the end of
// the partition and the lag between them.
func describeGroup(admin sarama.ClusterAdmin, client sarama.Client, name string, out io.Writer) error {
	descs, err := admin.DescribeConsumerGroups([]string{name})
	if err != nil {
		return fmt.Errorf("describe group %s: %w", name, err)
	}
	if len(descs) != 1 {
		return fmt.Errorf("describe group %s: %d answers", name, len(descs))
	}
	d := descs[0]
	if errors.Is(d.Err, sarama.ErrGroupIDNotFound) || d.State == "Dead" {
		return fmt.Errorf("group %s does not exist", name)
	}
	if !errors.Is(d.Err, sarama.ErrNoError) {
		return fmt.Errorf("describe group %s: %w", name, d.Err)
	}
	members, owner, err := groupMembers(d)
	if err != nil {
		return err
	}
	offsets, err := admin.ListConsumerGroupOffsets(name, nil)
	if err != nil {
		return fmt.Errorf("group %s: offsets: %w", name, err)
	}
	committed := offsetBlocks(offsets)
	protocol := orDash(d.ProtocolType)
	if d.Protocol != "" {
		protocol += "/" + d.Protocol
	}
	fmt.Fprintf(out, "group: %s\nstate: %s\nprotocol: %s\nmembers: %d\n\n", d.GroupId, d.State, protocol, len(members))
	rows := [][]string{{"MEMBER", "CLIENT-ID", "HOST", "PARTITIONS"}}
	for _, m := range members {
		rows = append(rows, []string{m.id, orDash(m.clientID), orDash(m.host), formatOwned(m.owns)})
	}
	if err := writeTable(out, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return writeLag(out, client, committed, owner)
}

// groupMembers returns a group's members sorted by id, and which member
// owns each partition.
func groupMembers(d *sarama.GroupDescription) ([]memberRow, map[topicPartition]string, error) {
	owner := map[topicPartition]string{}
	var members []memberRow
	for id, m := range d.Members {
		row := memberRow{id: id, clientID: m.ClientId, host: m.ClientHost, owns: map[string][]int32{}}
		if d.ProtocolType == "consumer" {
			a, err := m.GetMemberAssignment()
			if err != nil {
				return nil, nil, fmt.Errorf("group %s: member %s: assignment: %w", d.GroupId, id, err)
			}
			if a != nil {
				for t, ps := range a.Topics {
					row.owns[t] = slices.Sorted(slices.Values(ps))
					for _, p := range ps {
						owner[topicPartition{t, p}] = id
					}
				}
			}
		}
		members = append(members, row)
	}
	slices.SortFunc(members, func(a, b memberRow) int { return strings.Compare(a.id, b.id) })
	return members, owner, nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// offsetBlocks returns the committed offsets of a fetch answer, whichever
// version it is.
func offsetBlocks(r *sarama.OffsetFetchResponse) map[topicPartition]int64 {
	blocks := r.Blocks
	if r.Version >= 8 && len(r.Groups) > 0 {
		blocks = r.Groups[0].Blocks
	}
	out := map[topicPartition]int64{}
	for t, ps := range blocks {
		for p, b := range ps {
			if b != nil && errors.Is(b.Err, sarama.ErrNoError) && b.Offset >= 0 {
				out[topicPartition{t, p}] = b.Offset
			}
		}
	}
	return out
}

// writeLag prints a row per partition that has a committed offset or an
// owner: committed offset, end offset (high watermark) and lag.
func writeLag(out io.Writer, client sarama.Client, committed map[topicPartition]int64, owner map[topicPartition]string) error {
	var tps []topicPartition
	for tp := range committed {
		tps = append(tps, tp)
	}
	for tp := range owner {
		if _, ok := committed[tp]; !ok {
			tps = append(tps, tp)
		}
	}
	slices.SortFunc(tps, func(a, b topicPartition) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	rows := [][]string{{"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"}}
	for _, tp := range tps {
		end, err := client.GetOffset(tp.topic, tp.partition, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("end offset of %s/%d: %w", tp.topic, tp.partition, err)
		}
		c, lag := "-", "-"
		if off, ok := committed[tp]; ok {
			c, lag = strconv.FormatInt(off, 10), strconv.FormatInt(max(end-off, 0), 10)
		}
		rows = append(rows, []string{tp.topic, itoa(tp.partition), c, strconv.FormatInt(end, 10), lag, orDash(owner[tp])})
	}
	return writeTable(out, rows)
}

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
