package broker

// ElectLeaders (key 43), versions 0-2.
//
// kafka-leader-election.sh and franz-go's kadm.ElectLeaders ask for a
// preferred leader election (KIP-183; election type 0, the only one of
// v0): each partition named, or every partition when Topics is null, is
// led by its preferred replica (the first of its replicas) once that
// replica is live and in the ISR. In a cluster the active controller
// does it (forwarded there, internal/cluster's ElectPreferred): one Raft
// entry, a new leader epoch for each partition moved. Per partition:
// no error (moved), ELECTION_NOT_NEEDED (the preferred replica leads
// already; left out of the answer when Topics is null, as Kafka does),
// PREFERRED_LEADER_NOT_AVAILABLE (it is fenced or out of the ISR),
// UNKNOWN_TOPIC_OR_PARTITION. On a single broker every partition's only
// replica leads: ELECTION_NOT_NEEDED.
//
// Unclean election (type 1, v1+) is never done here (the topic config
// unclean.leader.election.enable is false only): a partition with a
// leader gets ELECTION_NOT_NEEDED, one without ELIGIBLE_LEADERS_NOT_AVAILABLE.
// Needs ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the
// request (v1+) and each partition, as Kafka answers.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/cluster"
)

var electLeadersAPI = api{key: 43, name: "ElectLeaders", minVersion: 0, maxVersion: 2, handle: handleElectLeaders}

// errEligibleLeadersNotAvailable answers an unclean election of a
// partition without a leader: none is ever made.
var errEligibleLeadersNotAvailable = errors.New("broker: unclean leader election is off; no in-sync replica is live")

// Kafka's election types.
const (
	electPreferred int8 = 0
	electUnclean   int8 = 1
)

func handleElectLeaders(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.ElectLeadersRequest)
	refs := electionRefs(req)
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	switch {
	case !c.mayCluster(kmsg.ACLOperationAlter):
		return ready(electionFailed(resp, refs, kerr.ClusterAuthorizationFailed.Code, nil))
	case req.ElectionType != electPreferred && req.ElectionType != electUnclean:
		msg := fmt.Sprintf("election type %d is neither preferred (0) nor unclean (1)", req.ElectionType)
		return ready(electionFailed(resp, refs, kerr.InvalidRequest.Code, &msg))
	}
	c.adminLog("leader election requested", "type", req.ElectionType, "partitions", len(refs), "all", req.Topics == nil)
	if c.s.cluster == nil {
		return ready(c.s.singleElection(resp, refs))
	}
	timeout := controllerTimeout
	if req.TimeoutMillis > 0 {
		timeout = min(timeout, time.Duration(req.TimeoutMillis)*time.Millisecond)
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var results []cluster.Election
		var err error
		if req.ElectionType == electUnclean {
			results = c.s.uncleanElection(refs)
		} else {
			results, err = c.s.cluster.ElectPreferred(ctx, refs)
		}
		if err != nil {
			code := errorCode(err)
			if errors.Is(err, context.DeadlineExceeded) {
				code = kerr.RequestTimedOut.Code
			}
			return electionFailed(resp, refs, code, errorMessage(err))
		}
		return electionAnswer(resp, results)
	})
}

// electionRefs are the partitions req names, once each and in order;
// nil (every partition) when its Topics is null.
func electionRefs(req *kmsg.ElectLeadersRequest) []cluster.PartitionRef {
	if req.Topics == nil {
		return nil
	}
	refs := []cluster.PartitionRef{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			refs = append(refs, cluster.PartitionRef{Topic: t.Topic, Partition: p})
		}
	}
	slices.SortFunc(refs, cluster.ComparePartitionRefs)
	return slices.Compact(refs)
}

// electionFailed answers code for the request (v1+) and each partition.
func electionFailed(resp *kmsg.ElectLeadersResponse, refs []cluster.PartitionRef, code int16, msg *string) *kmsg.ElectLeadersResponse {
	resp.ErrorCode = code
	results := make([]cluster.Election, len(refs))
	for i, r := range refs {
		results[i].PartitionRef = r
	}
	electionAnswer(resp, results)
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			rp := &resp.Topics[i].Partitions[j]
			rp.ErrorCode, rp.ErrorMessage = code, msg
		}
	}
	return resp
}

// electionAnswer puts each partition's outcome in resp, grouped by topic.
func electionAnswer(resp *kmsg.ElectLeadersResponse, results []cluster.Election) *kmsg.ElectLeadersResponse {
	byTopic := map[string]int{}
	for _, r := range results {
		i, ok := byTopic[r.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[r.Topic] = i
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = r.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = r.Partition
		if r.Err != nil {
			rp.ErrorCode, rp.ErrorMessage = errorCode(r.Err), errorMessage(r.Err)
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp
}

// singleElection answers on a single broker: each partition that exists
// is led by its only replica.
func (s *Server) singleElection(resp *kmsg.ElectLeadersResponse, refs []cluster.PartitionRef) *kmsg.ElectLeadersResponse {
	results := make([]cluster.Election, len(refs))
	for i, r := range refs {
		results[i].PartitionRef = r
		t := s.topics.Lookup(r.Topic)
		if t == nil || r.Partition < 0 || int(r.Partition) >= t.NumPartitions() {
			results[i].Err = cluster.ErrUnknownTopic
		} else {
			results[i].Err = cluster.ErrElectionNotNeeded
		}
	}
	return electionAnswer(resp, results)
}

// uncleanElection answers an unclean election from this broker's state:
// never done, so ELECTION_NOT_NEEDED where a leader exists and
// ELIGIBLE_LEADERS_NOT_AVAILABLE where none does (every partition
// without a leader, when refs is nil).
func (s *Server) uncleanElection(refs []cluster.PartitionRef) []cluster.Election {
	st := s.cluster.State()
	all := refs == nil
	if all {
		for name, t := range st.Topics {
			for i := range t.Partitions {
				refs = append(refs, cluster.PartitionRef{Topic: name, Partition: int32(i)})
			}
		}
		slices.SortFunc(refs, cluster.ComparePartitionRefs)
	}
	var out []cluster.Election
	for _, r := range refs {
		e := cluster.Election{PartitionRef: r}
		t := st.Topics[r.Topic]
		switch {
		case t == nil || r.Partition < 0 || int(r.Partition) >= len(t.Partitions):
			e.Err = cluster.ErrUnknownTopic
		case t.Partitions[r.Partition].Leader >= 0:
			if all {
				continue
			}
			e.Err = cluster.ErrElectionNotNeeded
		default:
			e.Err = errEligibleLeadersNotAvailable
		}
		out = append(out, e)
	}
	return out
}
