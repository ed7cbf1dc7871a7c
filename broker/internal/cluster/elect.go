package cluster

// Preferred leader election: a partition's preferred replica is the first
// of its replicas (Assign rotates it over the brokers, so leaders spread).
// After a failover the survivors lead what the dead broker led, and keep
// it once that broker is back; the active controller moves each such
// partition back to its preferred replica once that replica is live and
// in the ISR again, with an ElectPreferred Raft entry (a new leader
// epoch, as every leader change), every RebalanceInterval (Kafka's
// auto.leader.rebalance.enable), or at once on request (ElectLeaders,
// kafka-leader-election.sh).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// Election is one partition's outcome of ElectPreferred: Err nil (its
// preferred replica leads now), ErrElectionNotNeeded,
// ErrPreferredNotAvailable or ErrUnknownTopic.
type Election struct {
	PartitionRef
	Err error
}

type electPreferredReq struct {
	// Partitions nil: every partition.
	Partitions []PartitionRef `json:"partitions"`
}

type electPreferredResp struct {
	Index   uint64          `json:"index"`
	Results []electionReply `json:"results"`
}

type electionReply struct {
	PartitionRef
	Err *rpcError `json:"err,omitempty"`
}

// ElectPreferred moves the leadership of each partition named to its
// preferred replica through the active controller, and returns each
// one's outcome once this broker's state has the change. With
// partitions nil it tries every partition and leaves out those whose
// preferred replica leads already (as Kafka answers ElectLeaders for
// all partitions).
func (c *Controller) ElectPreferred(ctx context.Context, partitions []PartitionRef) ([]Election, error) {
	var resp electPreferredResp
	if err := c.call(ctx, "/elect-preferred", electPreferredReq{Partitions: partitions}, &resp); err != nil {
		return nil, err
	}
	if _, err := c.WaitIndex(ctx, resp.Index); err != nil {
		return nil, err
	}
	out := make([]Election, len(resp.Results))
	for i, r := range resp.Results {
		out[i].PartitionRef = r.PartitionRef
		if r.Err != nil {
			out[i].Err = r.Err.err()
		}
	}
	return out, nil
}

// electPreferred runs on the active controller: it decides each
// partition's outcome on the current state, applies one entry for those
// to move, and checks the result (the entry moves only what is still
// allowed when applied).
func (c *Controller) electPreferred(req electPreferredReq) (electPreferredResp, error) {
	s := c.State()
	all := req.Partitions == nil
	refs := req.Partitions
	if all {
		for name, t := range s.Topics {
			for i := range t.Partitions {
				refs = append(refs, PartitionRef{name, int32(i)})
			}
		}
		slices.SortFunc(refs, ComparePartitionRefs)
	}
	errs := make([]error, len(refs))
	var move []PartitionRef
	for i, r := range refs {
		errs[i] = c.eligible(s, r)
		if errs[i] == nil {
			move = append(move, r)
		}
	}
	resp := electPreferredResp{Index: s.Index}
	if len(move) > 0 {
		ns, err := c.applyCmd(command{ElectPreferred: &electPreferredCmd{Partitions: move}})
		if err != nil {
			return resp, err
		}
		resp.Index = ns.Index
		for i, r := range refs {
			if errs[i] == nil {
				if t := ns.Topics[r.Topic]; t == nil || int(r.Partition) >= len(t.Partitions) || t.Partitions[r.Partition].Leader != t.Partitions[r.Partition].Replicas[0] {
					errs[i] = ErrPreferredNotAvailable
				}
			}
		}
		c.log.Info("cluster: leaders moved back to their preferred replicas", "partitions", len(move))
	}
	for i, r := range refs {
		if all && errs[i] != nil && errors.Is(errs[i], ErrElectionNotNeeded) {
			continue
		}
		er := electionReply{PartitionRef: r}
		if errs[i] != nil {
			e := toRPCError(errs[i])
			er.Err = &e
		}
		resp.Results = append(resp.Results, er)
	}
	return resp, nil
}

// eligible is State.PreferredElection, and the preferred replica's
// heartbeat must also have reached this controller lately (within two
// of its heartbeat intervals, a third of a session each): a broker just killed is live in the state until it is
// fenced, and leading nothing is better than leading from the dead.
func (c *Controller) eligible(s *State, r PartitionRef) error {
	if err := s.PreferredElection(r); err != nil {
		return err
	}
	pref := s.Topics[r.Topic].Partitions[r.Partition].Replicas[0]
	c.sessMu.Lock()
	seen, ok := c.lastSeen[pref]
	c.sessMu.Unlock()
	if !ok || time.Since(seen) > c.cfg.SessionTimeout*2/3 {
		return fmt.Errorf("%w: no recent heartbeat from broker %d", ErrPreferredNotAvailable, pref)
	}
	return nil
}

// rebalanceLoop runs on every broker and acts on the active controller:
// every RebalanceInterval it moves leaders back to their preferred
// replicas (State.Imbalanced).
func (c *Controller) rebalanceLoop() {
	defer c.wg.Done()
	if c.cfg.RebalanceInterval < 0 {
		return
	}
	t := time.NewTicker(c.cfg.RebalanceInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if c.raft.State() != raft.Leader {
			continue
		}
		refs := c.State().Imbalanced(LeaderImbalancePercent)
		if len(refs) == 0 {
			continue
		}
		if _, err := c.electPreferred(electPreferredReq{Partitions: refs}); err != nil {
			c.log.Warn("cluster: moving leaders back to their preferred replicas", "err", err)
		}
	}
}
