// Package cluster is the controller quorum of a Pitwall broker cluster:
// the cluster's metadata as a replicated state machine on
// github.com/hashicorp/raft (no home-made consensus), and the broker
// sessions that fence a broker whose heartbeats stop. It knows nothing of
// the Kafka protocol; the broker answers Metadata and CreateTopics from
// it and (next) drives replication from it.
//
// A broker started without cluster flags never opens this package: the
// single-node broker, its disk format and its speed are as before.
//
// # Metadata through Raft
//
// Every broker of a 3- or 5-node cluster is a Raft voter (--voters
// 1@host:port,...; the quorum is bootstrapped from that list on first
// start, identically on every node). The state (State) is the brokers
// with their registration epoch and whether they are fenced, and the
// topics with their id, configs and, per partition, replicas, ISR,
// leader and leader epoch. Each change is one Raft entry (command, JSON):
//
//	register      a broker's (first or renewed) heartbeat while unknown or fenced:
//	              it is live, at epoch = the entry's index; leaderless
//	              partitions whose ISR holds it elect it
//	fence         a broker missed its session (names the epoch it was registered at,
//	              so a fence decided before it came back is a no-op):
//	              the partitions it led get the next live ISR member as leader,
//	              leader epoch + 1, and it leaves every ISR (never the last member)
//	create_topic  name, id, configs and the replica list of each partition
//	              (chosen by the active controller: Assign spreads leaders)
//	delete_topic  name
//	alter_isr     a partition leader's new ISR, accepted only from the current
//	              leader at its current epoch (Kafka's AlterPartition), and
//	              never adding a fenced broker (KIP-841)
//	elect_preferred partitions whose preferred replica (the first) is to lead
//	              again: each one whose preferred replica is live and in the ISR
//	              when applied gets it as leader, leader epoch + 1 (elect.go)
//
// apply computes the next State from the last without changing it (what
// an entry touches is copied), so readers take State() without locks and
// Changed() tells them when to look again. A refused entry (topic exists,
// stale leader epoch, ...) changes nothing and is the Apply's answer.
// Snapshots are the State as JSON (FileSnapshotStore, two kept); the Raft
// log and stable store are raft-boltdb/v2 in DataDir/cluster/raft.db.
//
// Leader election is Kafka's with unclean.leader.election.enable=false: a
// leader is only ever an ISR member; with none live the partition has no
// leader (-1, its replicas offline) until one returns.
//
// Preferred leader election (elect.go): a failover leaves partitions led
// by the survivors. Every RebalanceInterval (--leader-imbalance-check-interval,
// 5 min; off with --auto-leader-rebalance=false) the active controller
// applies an elect_preferred entry for the partitions State.Imbalanced
// names (Kafka's leader.imbalance.per.broker.percentage rule at 10%), and
// ElectPreferred does the same on request (the broker's ElectLeaders). A
// preferred replica must also have heartbeated within two heartbeat
// intervals: a broker just killed is live in the state until fenced.
//
// # Sessions and the controller RPC
//
// The Raft leader is the active controller. Every broker (itself
// included) sends it a heartbeat every third of --broker-session-timeout
// (default 3 s); heartbeats are not Raft entries, only the registration
// they cause when needed. The active controller keeps when it last heard
// each broker; past the session timeout it applies a fence. A newly
// elected controller gives every broker a full session from its election,
// except the previous controller, whose session it counts from its last
// Raft contact with it: that controller's death then costs about one
// session, not an election and a session. Raft's heartbeat and election
// timeouts are 500 ms, or half a session timeout shorter than 1 s.
//
// The controller port carries Raft's own protocol and the controller's
// RPC (HTTP/JSON: /heartbeat, /create-topic, /delete-topic, /alter-isr,
// /elect-preferred),
// told apart by the first byte of a connection (mux.go). A broker that is
// not the active controller forwards a request to it; a call made while
// there is none (an election, or this broker on the minority side) is
// retried until its context ends, then fails with ErrNotController: a
// minority cannot change the metadata.
//
// # Data replication (the broker's side; being built)
//
// Partition data does not go through Raft: followers fetch from the
// leader with Kafka's Fetch carrying their replica id, the leader tracks
// each follower's log end offset, the high watermark is the lowest in the
// ISR, acks=all waits for the ISR (at least min.insync.replicas), a
// follower behind for replica.lag.time.max.ms leaves the ISR and rejoins
// when caught up (alter_isr), and leader epochs with OffsetForLeaderEpoch
// truncate a returning replica's divergent tail (KIP-101, KIP-279).
package cluster
