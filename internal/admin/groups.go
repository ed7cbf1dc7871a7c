package admin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/telemetry"
)

// GroupSummary is one group of ListGroups.
type GroupSummary struct {
	Name, ProtocolType string
	// Described reports whether DescribeGroups answered for the group
	// without an error; State and Members are set only then.
	Described bool
	State     string
	Members   int
}

// Group is a described consumer group.
type Group struct {
	Name, State, ProtocolType string
	// Protocol is the assignor of a consumer group ("range"); empty
	// when the group has no members.
	Protocol string
	// Members are sorted by ID.
	Members []Member
	// Offsets has a row per partition that has a committed offset or an
	// owner, sorted by topic and partition.
	Offsets []PartitionOffsets
}

// Member is one member of a described group.
type Member struct {
	ID, ClientID, Host string
	// Owns maps each assigned topic to its partitions, ascending; empty
	// for groups whose protocol type is not "consumer".
	Owns map[string][]int32
}

// PartitionOffsets is where a group is in one partition.
type PartitionOffsets struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset, -1 when there is none.
	Committed int64
	// End is the partition's end offset (high watermark).
	End int64
	// Position is how far the group has processed, from the lap
	// processor's commit metadata (telemetry.OffsetMeta): the offset
	// after the last record processed. -1 for groups whose metadata is
	// not the lap processor's, or without a committed offset.
	Position int64
	// Lag is the records not processed yet: End - Position where
	// Position is known, else End - Committed (Kafka's lag), at least 0;
	// -1 when there is no committed offset.
	Lag int64
	// InLap is Position - Committed: records processed but held for laps
	// still open (the lap processor commits the start of the oldest open
	// lap, where a restarted processor resumes). -1 where Position is
	// unknown.
	InLap int64
	// Member is the ID of the member that owns the partition; empty when
	// none does.
	Member string
}

// ListGroups returns every group, sorted by name, with its state and
// member count where the group coordinator describes it.
func (c *Client) ListGroups() ([]GroupSummary, error) {
	groups, err := c.admin.ListConsumerGroups()
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := make([]GroupSummary, 0, len(groups))
	for name, protocolType := range groups {
		out = append(out, GroupSummary{Name: name, ProtocolType: protocolType})
	}
	if len(out) == 0 {
		return out, nil
	}
	slices.SortFunc(out, func(a, b GroupSummary) int { return strings.Compare(a.Name, b.Name) })
	names := make([]string, len(out))
	for i, g := range out {
		names[i] = g.Name
	}
	descs, err := c.admin.DescribeConsumerGroups(names)
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	byName := map[string]*sarama.GroupDescription{}
	for _, d := range descs {
		byName[d.GroupId] = d
	}
	for i := range out {
		if d := byName[out[i].Name]; d != nil && errors.Is(d.Err, sarama.ErrNoError) {
			out[i].Described, out[i].State, out[i].Members = true, d.State, len(d.Members)
		}
	}
	return out, nil
}

// DescribeGroup returns the group's state and protocol, its members with
// their partitions, and per partition the committed offset, the end of
// the partition and the lag between them.
func (c *Client) DescribeGroup(name string) (*Group, error) {
	descs, err := c.admin.DescribeConsumerGroups([]string{name})
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", name, err)
	}
	if len(descs) != 1 {
		return nil, fmt.Errorf("describe group %s: %d answers", name, len(descs))
	}
	d := descs[0]
	if errors.Is(d.Err, sarama.ErrGroupIDNotFound) || d.State == "Dead" {
		return nil, fmt.Errorf("group %s does not exist", name)
	}
	if !errors.Is(d.Err, sarama.ErrNoError) {
		return nil, fmt.Errorf("describe group %s: %w", name, d.Err)
	}
	members, owner, err := groupMembers(d)
	if err != nil {
		return nil, err
	}
	offsets, err := c.admin.ListConsumerGroupOffsets(name, nil)
	if err != nil {
		return nil, fmt.Errorf("group %s: offsets: %w", name, err)
	}
	rows, err := c.lag(committedOffsets(offsets), owner)
	if err != nil {
		return nil, err
	}
	return &Group{Name: d.GroupId, State: d.State, ProtocolType: d.ProtocolType, Protocol: d.Protocol, Members: members, Offsets: rows}, nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// groupMembers returns a group's members sorted by id, and which member
// owns each partition.
func groupMembers(d *sarama.GroupDescription) ([]Member, map[topicPartition]string, error) {
	owner := map[topicPartition]string{}
	var members []Member
	for id, m := range d.Members {
		row := Member{ID: id, ClientID: m.ClientId, Host: m.ClientHost, Owns: map[string][]int32{}}
		if d.ProtocolType == "consumer" {
			a, err := m.GetMemberAssignment()
			if err != nil {
				return nil, nil, fmt.Errorf("group %s: member %s: assignment: %w", d.GroupId, id, err)
			}
			if a != nil {
				for t, ps := range a.Topics {
					row.Owns[t] = slices.Sorted(slices.Values(ps))
					for _, p := range ps {
						owner[topicPartition{t, p}] = id
					}
				}
			}
		}
		members = append(members, row)
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return members, owner, nil
}

// committed is a committed offset and its metadata.
type committed struct {
	offset int64
	meta   string
}

// committedOffsets returns the committed offsets of a fetch answer,
// whichever version it is.
func committedOffsets(r *sarama.OffsetFetchResponse) map[topicPartition]committed {
	blocks := r.Blocks
	if r.Version >= 8 && len(r.Groups) > 0 {
		blocks = r.Groups[0].Blocks
	}
	out := map[topicPartition]committed{}
	for t, ps := range blocks {
		for p, b := range ps {
			if b != nil && errors.Is(b.Err, sarama.ErrNoError) && b.Offset >= 0 {
				out[topicPartition{t, p}] = committed{b.Offset, b.Metadata}
			}
		}
	}
	return out
}

// lag returns a row per partition that has a committed offset or an
// owner: committed offset, end offset (high watermark), and the lag and
// records in open laps (see PartitionOffsets).
func (c *Client) lag(committed map[topicPartition]committed, owner map[topicPartition]string) ([]PartitionOffsets, error) {
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
	rows := make([]PartitionOffsets, 0, len(tps))
	for _, tp := range tps {
		end, err := c.client.GetOffset(tp.topic, tp.partition, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", tp.topic, tp.partition, err)
		}
		row := PartitionOffsets{Topic: tp.topic, Partition: tp.partition, Committed: -1, End: end,
			Position: -1, Lag: -1, InLap: -1, Member: owner[tp]}
		if cm, ok := committed[tp]; ok {
			row.Committed, row.Lag = cm.offset, max(end-cm.offset, 0)
			if m, err := telemetry.ParseOffsetMeta(cm.meta); err == nil && m.Position >= 0 {
				// A position past the end (the log was truncated or
				// recreated) or before the committed offset is clamped.
				pos := min(max(m.Position, cm.offset), end)
				row.Position, row.Lag, row.InLap = pos, max(end-pos, 0), max(pos-cm.offset, 0)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
