package broker

import (
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
		c := newConn(s, a)
		defer c.cancel()
		r, err := c.handleFrame(frame)
		if err == nil && r != nil {
			if r.done != nil {
				c.cancel()
				<-r.done
			}
			appendReply(nil, r) // encoding the reply must not panic either
		}
		c.wg.Wait()
	})
}
