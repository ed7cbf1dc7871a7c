// Package group is Pitwall's group coordinator: Kafka's classic consumer
// group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the
// committed offsets of each group. It knows nothing of the wire protocol or
// of Kafka's error codes: the broker translates requests into the types in
// types.go and maps the errors it gets back.
//
// # One goroutine per group
//
// Each group is owned by a goroutine of its own (group.run). The
// Coordinator's methods find the group (creating it when the request may)
// and hand the request to that goroutine as a function over an unbuffered
// channel; nothing else reads or writes a group's state. A request that
// must wait — a JoinGroup until the rebalance completes, a SyncGroup until
// the leader's assignment is stored, a commit until it is durable — gets a
// channel that the group answers later, so the caller applies requests in
// order and waits elsewhere. The group's timers (session expiry, initial
// delay, rebalance and sync deadlines, offset retention) are one time.Timer, armed after
// every event to the earliest deadline, so tests drive them with
// testing/synctest.
//
// # The rebalance state machine
//
//	Empty ──join──▶ PreparingRebalance ──all joined, or rebalance timeout──▶ CompletingRebalance
//	  ▲                 ▲        │                                               │ leader's SyncGroup stored
//	  └── no members ───┘        └───────── member joins, leaves, expires ◀── Stable ◀┘
//
// Dead is terminal: the group is being removed (DeleteGroups, or Empty with
// no offsets left) and its goroutine ends once its writes are settled.
// The rules are Kafka's (GroupCoordinator.scala): MEMBER_ID_REQUIRED for
// dynamic members joining with JoinGroup v4+; static members
// (group.instance.id) keep their place across restarts and fence their
// previous incarnation; members waiting in JoinGroup or SyncGroup do not
// expire; dynamic members that do not rejoin in time are dropped; the
// protocol is chosen by vote among those every member supports; the leader
// alone gets the members' metadata; members the leader assigned nothing get
// a valid empty ConsumerMemberAssignment; with Config.InitialRebalanceDelay
// the first rebalance after Empty waits that long for more members, each
// joiner extending it up to the rebalance timeout (InitialDelayedJoin).
//
// # Persistence
//
// State goes to a Store (the broker's __consumer_offsets topic) as records
// in Kafka's own layouts (records.go): a commit is one OffsetCommit record
// per partition and is answered, and becomes visible, only once durable
// (fsynced); the leader's assignment is written with the group's metadata
// before the group turns Stable (written, not fsynced, as Kafka: a crash
// that loses it restores the previous generation, whose members rejoin).
// Writes of one group complete in order. At start the broker feeds
// every record to a Replayer, which keeps the last value per key (a nil
// value deletes), and New restores each group: Stable with its members
// (whose sessions restart) or Empty with its offsets.
//
// A single broker runs one Coordinator for every group. A broker of a
// cluster runs one per __consumer_offsets partition it leads, made by New
// from that partition's records when it becomes leader and closed when it
// stops; its Store answers a write as durable once every in-sync replica
// holds it. The package is the same either way: it sees only a Store and
// a Replayer.
//
// # Locking
//
// Coordinator.mu guards only the map of groups and is never held while
// waiting for a group. A group goroutine never waits on another group.
package group
