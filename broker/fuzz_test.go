package broker

import (
	"bytes"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzRequestFrame feeds arbitrary request frames (everything after the
// length prefix) to the decoder and the handlers: nothing may panic, and a
// frame either gets a reply, is refused with the connection closed, or (an
// acks=0 produce) needs no reply.
func FuzzRequestFrame(f *testing.F) {
	var rf kmsg.RequestFormatter
	for _, a := range registry {
		if a == nil {
			continue
		}
		for _, v := range []int16{a.minVersion, a.maxVersion} {
			req := kmsg.RequestForKey(a.key)
			req.SetVersion(v)
			f.Add(rf.AppendRequest(nil, req, 1)[4:])
		}
	}
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks = 1
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = make([]byte, 70)
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)
	produce.SetVersion(9)
	f.Add(rf.AppendRequest(nil, produce, 2)[4:])
	for _, v := range []int16{fetchAPI.minVersion, fetchAPI.maxVersion} {
		fetch := kmsg.NewPtrFetchRequest()
		fetch.SetVersion(v)
		fetch.MaxBytes = 1 << 20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "fuzz"
		for p := range int32(3) {
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.Partition, fp.PartitionMaxBytes = p, 1<<20
			ft.Partitions = append(ft.Partitions, fp)
		}
		fetch.Topics = append(fetch.Topics, ft)
		f.Add(rf.AppendRequest(nil, fetch, 3)[4:])
	}

	for _, v := range []int16{electLeadersAPI.minVersion, electLeadersAPI.maxVersion} {
		elect := kmsg.NewPtrElectLeadersRequest()
		elect.SetVersion(v)
		et := kmsg.NewElectLeadersRequestTopic()
		et.Topic, et.Partitions = "fuzz", []int32{0, 1, 1, 7}
		elect.Topics = append(elect.Topics, et)
		f.Add(rf.AppendRequest(nil, elect, 4)[4:])
	}

	s, err := New(Config{Listen: "127.0.0.1:0", DataDir: f.TempDir(), Partitions: 2, MaxPartitions: 4, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < minRequestHeader {
			return // refused by the read loop before decoding
		}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		c := newConn(s, a, s.listeners[0])
		defer c.cancel()
		r, err := c.handleFrame(frame)
		if err == nil && r != nil {
			if r.done != nil {
				c.cancel()
				<-r.done
			}
			want := appendReply(nil, r) // encoding the reply must not panic either
			if fr, ok := r.resp.(*fetchReply); ok {
				// The writev frame must be the very bytes kmsg encodes.
				ff := appendFetchFrame(nil, r.corr, fr.FetchResponse)
				var got []byte
				for _, p := range ff.buffers(nil) {
					got = append(got, p...)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("fetch frame differs from kmsg's:\n got %x\nwant %x", got, want)
				}
				fr.release()
			}
		}
		c.wg.Wait()
	})
}
