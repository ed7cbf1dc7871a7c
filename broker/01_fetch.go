package broker

// Fetch (key 1), versions 4-12.
//
// v4 is the first version that returns record batch format v2 (the only
// format stored; librdkafka needs Fetch >= 4 to enable it); sarama uses up to
// v12 and franz-go stays at v12 without topic ids. Fetch sessions (v7+) are
// not kept: every response says session 0, so clients send full requests.
//
// A fetch is a byte-range read of stored batches up to the high watermark:
// nothing is decoded. MaxBytes (capped by Config.FetchMaxBytes, Kafka's
// fetch.max.bytes) and PartitionMaxBytes are honoured, except
// that the first non-empty partition always gets at least one whole batch
// (KIP-74) so a batch larger than the limits cannot wedge a consumer. Empty
// partitions carry empty records, never null (librdkafka rejects null). If
// fewer than MinBytes are ready the fetch long-polls: it is woken by appends
// to any partition it asked for, and answers at MaxWaitMillis at the latest.

import (
	"context"
	"encoding/binary"
	"net"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

var fetchAPI = api{key: 1, name: "Fetch", minVersion: 4, maxVersion: 12, handle: handleFetch}

func handleFetch(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.FetchRequest)
	// At most fetchesPerConn fetch replies of a connection exist at once
	// (the writer frees the slot once a reply is written), so a client
	// pipelining fetches cannot make the broker hold more than that many
	// responses' buffers. Real clients send one fetch at a time.
	select {
	case c.fetchSlots <- struct{}{}:
	case <-c.ctx.Done():
		return nil
	}
	if req.ReplicaID >= 0 {
		// A follower's fetch: only from a broker (replica_fetch.go),
		// which needs no topic READ.
		if r := c.replicaFetchRefused(req); r != nil {
			return r
		}
		c.s.followerFetched(req) // replication.go
	} else if c.s.sec.authz != nil {
		if r := c.fetchDenied(req); r != nil {
			return r
		}
	}
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	if req.MaxWaitMillis <= 0 {
		resp, _, _ := c.s.fetchOnce(req)
		return ready(resp)
	}
	resp, enough, settling, wake := c.s.look(req)
	if resp != nil && enough && !settling {
		return ready(resp)
	}
	resp.release() // not enough yet, or more about to be visible: read again
	return c.pending(func(ctx context.Context) kmsg.Response {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for !enough {
			if c.s.cfg.fetchWaiting != nil {
				c.s.cfg.fetchWaiting()
			}
			if !c.s.waitAny(ctx, timer.C, wake) {
				resp, _, _ = c.s.fetchOnce(req)
				return resp
			}
			resp, enough, settling, wake = c.s.look(req)
			if resp != nil && enough && !settling {
				return resp
			}
			resp.release()
		}
		// Records to answer with, and other partitions' appends about
		// to be visible: gather them for a moment rather than answer
		// with a part, then answer with what there is.
		gather := time.NewTimer(min(fetchGather, time.Until(deadline)))
		defer gather.Stop()
		c.s.waitAny(ctx, gather.C, nil)
		resp, _, _ = c.s.fetchOnce(req)
		return resp
	})
}

// fetchGather is how long a consumer's fetch that has records to answer
// with waits for appends to its other partitions that are written but not
// yet visible (fsync or replication in flight): one produce request
// appends to many partitions and their fsyncs end one by one, and
// answering at the first would make the consumer fetch again for each.
const fetchGather = 2 * time.Millisecond

// fetchOnce reads what req asks for as things stand. enough reports
// whether the answer should go now (MinBytes reached or an error to
// report); wake holds the channels that close when a partition it read has
// more to offer, or when fetch memory frees after it found none. The
// record batches are read into pooled buffers, each partition's into one
// of its size, taken from the broker's fetch memory (Config.FetchMemory);
// the reply's writer releases them.
func (s *Server) fetchOnce(req *kmsg.FetchRequest) (resp *fetchReply, enough bool, wake []<-chan struct{}) {
	resp = &fetchReply{FetchResponse: req.ResponseKind().(*kmsg.FetchResponse), budget: s.fetchBudget}
	budget := int(s.cfg.FetchMaxBytes)
	if req.MaxBytes > 0 {
		budget = min(budget, int(req.MaxBytes))
	}
	total, failed, starved := 0, false, false
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			*sp = kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.PreferredReadReplica = -1
			sp.RecordBatches = []byte{}
			v, w, err := s.viewPartition(req, rt.Topic, rp, wake)
			wake = w
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				continue
			}
			sp.HighWatermark = v.hw
			sp.LastStableOffset = sp.HighWatermark
			sp.LogStartOffset = v.l.StartOffset()
			limit := min(int(rp.PartitionMaxBytes), budget-total)
			if total > 0 && limit <= 0 {
				continue
			}
			if v.settling {
				resp.settling = true
			}
			if v.nothingYet(rp.FetchOffset) {
				continue // take no memory for it
			}
			reserved, freed := s.fetchBudget.takeUpTo(int64(max(limit, 1)))
			if reserved == 0 {
				// Fetch memory is spent: read nothing more now, and
				// be woken when some frees.
				starved = true
				wake = append(wake, freed)
				continue
			}
			out, err := resp.read(v.l, rp.FetchOffset, v.below, reserved)
			if err == nil && total > 0 && len(out) > limit {
				// Only the first non-empty partition may exceed the
				// limits (KIP-74); this one waits its turn.
				resp.unread()
				continue
			}
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				continue
			}
			sp.RecordBatches = out
			total += len(out)
		}
	}
	if starved && total == 0 && !failed {
		return resp, false, wake
	}
	return resp, failed || total >= int(req.MinBytes), wake
}

// fetchView is what a fetch may read of one partition, looked at once.
type fetchView struct {
	l  *commitlog.Log
	hw int64 // the partition's high watermark, answered with
	// below is where reading stops: the high watermark for a consumer;
	// for a follower (replica id >= 0), all the leader has fsynced.
	below    int64
	end      int64 // the log's end offset
	settling bool  // a consumer's records past below: written, visible once fsynced or replicated
}

// viewPartition finds the partition rp of topic that req may read and
// looks at it. It adds the partition's wake channel to wake first, so an
// append after the look cannot be missed.
func (s *Server) viewPartition(req *kmsg.FetchRequest, topic string, rp *kmsg.FetchRequestTopicPartition, wake []<-chan struct{}) (fetchView, []<-chan struct{}, error) {
	p, err := s.servedPartition(topic, rp.Partition)
	if err == nil && req.ReplicaID >= 0 {
		err = s.notReplica(topic, rp.Partition, req.ReplicaID)
	}
	if err != nil {
		return fetchView{}, wake, err
	}
	wake = p.Wait(wake)
	v := fetchView{l: p.Log(), hw: p.HighWatermark()}
	v.below = v.hw
	if req.ReplicaID >= 0 {
		v.below = v.l.HighWatermark()
	}
	v.end = v.l.EndOffset()
	v.settling = req.ReplicaID < 0 && v.end > v.below && rp.FetchOffset <= v.end
	return v, wake, nil
}

// nothingYet reports whether offset is at or past what is visible but
// within the log: nothing to read yet.
func (v fetchView) nothingYet(offset int64) bool { return offset >= v.below && offset <= v.end }

// look is fetchOnce for a fetch that may wait: it reads only once the
// answer should go. While the records visible to req fall short of its
// MinBytes, each append that wakes it costs no reads (fetchProbe); a
// consumer that asks for bytes to batch its work (fetch.min.bytes) would
// otherwise have every partition it reads read again at every append.
// resp is nil when nothing was read; settling is resp.settling.
func (s *Server) look(req *kmsg.FetchRequest) (resp *fetchReply, enough, settling bool, wake []<-chan struct{}) {
	if enough, settling, wake, known := s.fetchProbe(req); known && (!enough || settling) {
		return nil, enough, settling, wake
	}
	resp, enough, wake = s.fetchOnce(req)
	return resp, enough, resp.settling, wake
}

// fetchProbe is fetchOnce without reading: whether req's answer should go
// (MinBytes visible, counted from the log's positions), whether more is
// about to be visible, and the channels to wait on. known is false when
// a read must tell: an error to answer with, an offset out of range, or
// visible records whose size the log does not know without reading (a
// consumer further back than its last appends). The partition and fetch
// memory limits are not applied: they only ever make an answer go sooner.
func (s *Server) fetchProbe(req *kmsg.FetchRequest) (enough, settling bool, wake []<-chan struct{}, known bool) {
	var total int64
	for i := range req.Topics {
		rt := &req.Topics[i]
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			v, w, err := s.viewPartition(req, rt.Topic, rp, wake)
			wake = w
			if err != nil {
				return false, false, wake, false
			}
			settling = settling || v.settling
			if v.nothingYet(rp.FetchOffset) {
				continue
			}
			n, ok := v.l.VisibleBytes(rp.FetchOffset, v.below)
			if !ok {
				return false, false, wake, false
			}
			total += n
		}
	}
	return total >= int64(req.MinBytes), settling, wake, true
}

// read reads a partition's batches from offset into a pooled buffer,
// within reserved bytes of fetch memory already taken (more if the first
// batch is bigger: KIP-74), and keeps the buffer's capacity taken. On an
// error or when nothing is visible it keeps nothing.
func (f *fetchReply) read(l *commitlog.Log, offset, below, reserved int64) ([]byte, error) {
	taken := reserved
	var buf *[]byte
	out, err := l.ReadFuncBelow(offset, int(reserved), below, func(n int) []byte {
		buf = getFrame(n)
		if c := int64(cap(*buf)); c > taken {
			f.budget.take(c - taken)
			taken = c
		}
		return *buf
	})
	if err != nil || len(out) == 0 {
		if buf != nil {
			putFrame(buf)
		}
		f.budget.release(taken)
		return nil, err
	}
	keep := int64(cap(*buf))
	f.budget.release(taken - keep)
	f.bufs = append(f.bufs, buf)
	f.held += keep
	return out, nil
}

// unread gives back the buffer of the last read.
func (f *fetchReply) unread() {
	b := f.bufs[len(f.bufs)-1]
	f.bufs = f.bufs[:len(f.bufs)-1]
	n := int64(cap(*b))
	putFrame(b)
	f.held -= n
	f.budget.release(n)
}

// waitAny blocks until one of wake closes (true), or the deadline passes,
// the connection ends or the server drains (false).
func (s *Server) waitAny(ctx context.Context, deadline <-chan time.Time, wake []<-chan struct{}) bool {
	cases := make([]reflect.SelectCase, 0, len(wake)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.draining)},
	)
	for _, w := range wake {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 3
}

// fetchesPerConn bounds the fetch replies of one connection that are being
// built, waited on or written (see handleFetch).
const fetchesPerConn = 2

// fetchReply is a Fetch response whose record batches stay in the buffers
// they were read into (bufs, from the frame pools): the connection writes
// them to the socket as they are (writev, see appendFetchFrame) instead of
// copying them into kmsg's encoding, and gives the buffers back once the
// reply is written.
type fetchReply struct {
	*kmsg.FetchResponse
	bufs   []*[]byte
	budget *byteBudget // the broker's fetch memory
	held   int64       // bytes of it the buffers hold (their capacity)
	// settling: a partition read has records written past what it could
	// serve, which become visible once fsynced or replicated.
	settling bool
}

// release gives the record buffers back to the pools and their bytes to
// fetch memory; the response must not be used afterwards.
func (f *fetchReply) release() {
	if f == nil {
		return
	}
	for _, b := range f.bufs {
		putFrame(b)
	}
	f.bufs = nil
	f.budget.release(f.held)
	f.held = 0
}

// fetchFrame is a Fetch response frame as pieces for writev: the encoded
// fields, with each partition's record batches as a piece of its own.
type fetchFrame struct {
	enc  []byte // every byte that is not record batches
	cuts []int  // enc[cuts[i-1]:cuts[i]] precedes recs[i]
	recs [][]byte
	size int // total frame length, length prefix included
}

// appendFetchFrame encodes resp exactly as appendReply would (the tests
// hold it to kmsg's AppendTo byte for byte, at every version served), but
// leaves the record batches out of the encoding: f.buffers interleaves
// them with the encoded fields. Only what fetchOnce sets is encoded: no
// aborted transactions (this broker has no transactions) and no tagged
// fields (no diverging epoch, leader or snapshot hints).
func appendFetchFrame(enc []byte, corr int32, resp *kmsg.FetchResponse) fetchFrame {
	v := resp.Version
	flex := v >= 12
	f := fetchFrame{enc: enc[:0]}
	b := append(f.enc, 0, 0, 0, 0) // length, set below
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	arrayLen := func(b []byte, n int) []byte {
		if flex {
			return binary.AppendUvarint(b, uint64(n)+1)
		}
		return binary.BigEndian.AppendUint32(b, uint32(n))
	}
	if flex {
		b = append(b, 0) // response header tags
	}
	b = binary.BigEndian.AppendUint32(b, uint32(resp.ThrottleMillis))
	if v >= 7 {
		b = binary.BigEndian.AppendUint16(b, uint16(resp.ErrorCode))
		b = binary.BigEndian.AppendUint32(b, uint32(resp.SessionID))
	}
	b = arrayLen(b, len(resp.Topics))
	for i := range resp.Topics {
		t := &resp.Topics[i]
		if flex {
			b = binary.AppendUvarint(b, uint64(len(t.Topic))+1)
		} else {
			b = binary.BigEndian.AppendUint16(b, uint16(len(t.Topic)))
		}
		b = append(b, t.Topic...)
		b = arrayLen(b, len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			b = binary.BigEndian.AppendUint32(b, uint32(p.Partition))
			b = binary.BigEndian.AppendUint16(b, uint16(p.ErrorCode))
			b = binary.BigEndian.AppendUint64(b, uint64(p.HighWatermark))
			b = binary.BigEndian.AppendUint64(b, uint64(p.LastStableOffset))
			if v >= 5 {
				b = binary.BigEndian.AppendUint64(b, uint64(p.LogStartOffset))
			}
			switch { // aborted transactions: always null
			case flex:
				b = append(b, 0)
			default:
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			}
			if v >= 11 {
				b = binary.BigEndian.AppendUint32(b, uint32(p.PreferredReadReplica))
			}
			switch {
			case p.RecordBatches == nil && flex:
				b = append(b, 0)
			case p.RecordBatches == nil:
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			case flex:
				b = binary.AppendUvarint(b, uint64(len(p.RecordBatches))+1)
			default:
				b = binary.BigEndian.AppendUint32(b, uint32(len(p.RecordBatches)))
			}
			if len(p.RecordBatches) > 0 {
				f.cuts = append(f.cuts, len(b))
				f.recs = append(f.recs, p.RecordBatches)
				f.size += len(p.RecordBatches)
			}
			if flex {
				b = append(b, 0) // partition tags
			}
		}
		if flex {
			b = append(b, 0) // topic tags
		}
	}
	if flex {
		b = append(b, 0) // response tags
	}
	f.size += len(b)
	binary.BigEndian.PutUint32(b, uint32(f.size-4))
	f.enc = b
	return f
}

// buffers returns the frame's pieces in order, for net.Buffers.
func (f *fetchFrame) buffers(dst net.Buffers) net.Buffers {
	from := 0
	for i, cut := range f.cuts {
		if cut > from {
			dst = append(dst, f.enc[from:cut])
		}
		dst = append(dst, f.recs[i])
		from = cut
	}
	if from < len(f.enc) {
		dst = append(dst, f.enc[from:])
	}
	return dst
}
