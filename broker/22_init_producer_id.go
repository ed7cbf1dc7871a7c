package broker

// InitProducerId (key 22), versions 0-4.
//
// Idempotent producers (sarama with Producer.Idempotent, franz-go by
// default, librdkafka with enable.idempotence) ask for a producer id first;
// librdkafka sends 0-4, sarama v4. Transactions are not supported, so a
// transactional id is refused. A v3+ request naming its current id and
// epoch (KIP-360, sent after a sequence error) gets the same id with the
// epoch bumped, or a new id once the epoch would overflow.

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var initProducerIDAPI = api{key: 22, name: "InitProducerId", minVersion: 0, maxVersion: 4, handle: handleInitProducerID}

func handleInitProducerID(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return ready(resp)
	}
	if !c.mayIdempotentWrite() {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return ready(resp)
	}
	if req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return ready(resp)
	}
	id, err := c.s.pids.allocate()
	if err != nil {
		c.s.log.Error("allocating a producer id", "err", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return ready(resp)
	}
	if c.s.cluster != nil {
		// Each broker allocates from its own producer-ids.json: in a
		// cluster the node id goes into the high bits, so two brokers
		// never hand out the same id (a partition's producer state is
		// keyed by it, on whichever broker leads it).
		id |= (int64(c.s.cfg.NodeID) + 1) << clusterProducerIDShift
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return ready(resp)
}

// clusterProducerIDShift leaves each broker of a cluster 2^40 producer
// ids of its own.
const clusterProducerIDShift = 40
