package broker_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestElectLeadersSingleBroker: on one broker every partition is led by
// its only replica. ElectLeaders (v0 and v2) from a super user answers
// ELECTION_NOT_NEEDED for each partition named (once, however often
// named), UNKNOWN_TOPIC_OR_PARTITION for one that does not exist, nothing
// for every partition (null topics), INVALID_REQUEST for an unknown
// election type; a principal without ALTER on the cluster gets
// CLUSTER_AUTHORIZATION_FAILED. A Fetch with a replica id (a follower's)
// is refused with CLUSTER_AUTHORIZATION_FAILED: there are no followers.
func TestElectLeadersSingleBroker(t *testing.T) {
	b := startACLBroker(t)
	admin := b.client(t, "admin", secret)
	mustCreate(t, admin, "el", 2, nil)
	proc := b.client(t, "processor", "proc-"+secret)
	v0 := kversion.Stable()
	v0.SetMaxKeyVersion(43, 0)
	admins := map[int16]*kgo.Client{0: b.client(t, "admin", secret, kgo.MaxVersions(v0)), 2: admin}

	elect := func(cl *kgo.Client, typ int8, topics map[string][]int32) (int16, map[string]int16) {
		t.Helper()
		req := kmsg.NewPtrElectLeadersRequest()
		req.ElectionType = typ
		if topics != nil {
			req.Topics = []kmsg.ElectLeadersRequestTopic{}
		}
		for name, ps := range topics {
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic, rt.Partitions = name, ps
			req.Topics = append(req.Topics, rt)
		}
		resp, err := cl.SeedBrokers()[0].Request(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		r := resp.(*kmsg.ElectLeadersResponse)
		out := map[string]int16{}
		for _, rt := range r.Topics {
			for _, rp := range rt.Partitions {
				out[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp.ErrorCode
			}
		}
		return r.ErrorCode, out
	}
	for _, v := range []int16{0, 2} {
		top, got := elect(admins[v], 0, map[string][]int32{"el": {1, 0, 1}, "none": {0}})
		want := map[string]int16{"el/0": kerr.ElectionNotNeeded.Code, "el/1": kerr.ElectionNotNeeded.Code, "none/0": kerr.UnknownTopicOrPartition.Code}
		if top != 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("v%d: %d %v, want 0 %v", v, top, got, want)
		}
	}
	if top, got := elect(admin, 0, nil); top != 0 || len(got) != 0 {
		t.Errorf("every partition: %d %v, want nothing to do", top, got)
	}
	if top, got := elect(admin, 5, map[string][]int32{"el": {0}}); top != kerr.InvalidRequest.Code || got["el/0"] != kerr.InvalidRequest.Code {
		t.Errorf("election type 5: %d %v", top, got)
	}
	if top, got := elect(proc, 0, map[string][]int32{"el": {0}}); top != kerr.ClusterAuthorizationFailed.Code || got["el/0"] != kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("without ALTER on the cluster: %d %v", top, got)
	}

	fetch := kmsg.NewPtrFetchRequest()
	fetch.ReplicaID, fetch.MaxBytes, fetch.SessionEpoch = 1, 1<<20, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "el"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	resp, err := admin.SeedBrokers()[0].Request(testCtx(t), fetch)
	if err != nil {
		t.Fatal(err)
	}
	fr := resp.(*kmsg.FetchResponse)
	if fr.ErrorCode != kerr.ClusterAuthorizationFailed.Code || fr.Topics[0].Partitions[0].ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("replica fetch on a single broker: %v / %v", kerr.ErrorForCode(fr.ErrorCode), kerr.ErrorForCode(fr.Topics[0].Partitions[0].ErrorCode))
	}
	if !strings.Contains(b.logs.String(), "replica_fetch_not_cluster") {
		t.Error("the refused replica fetch was not logged")
	}
}
