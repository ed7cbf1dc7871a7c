package broker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startServer runs a Server on 127.0.0.1:0 in a temp dir for in-package
// tests (other packages use brokertest).
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context()) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(time.Minute)) // hang guard
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(req kmsg.Request, version int16, corr int32) {
	c.t.Helper()
	req.SetVersion(version)
	var f kmsg.RequestFormatter
	if _, err := c.nc.Write(f.AppendRequest(nil, req, corr)); err != nil {
		c.t.Fatal(err)
	}
}

// fetchRequest asks for partition 0 of topic from offset 0, up to
// maxBytes in all and for the partition.
func fetchRequest(topic string, maxBytes int32) *kmsg.FetchRequest {
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxBytes = maxBytes
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = maxBytes
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	return fetch
}

// recv returns one response frame without its length: correlation id,
// header, body.
func (c *rawConn) recv() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.br, b)
	return b, err
}

func (c *rawConn) mustRecv(corr int32) []byte {
	c.t.Helper()
	b, err := c.recv()
	if err != nil {
		c.t.Fatal(err)
	}
	if got := int32(binary.BigEndian.Uint32(b)); got != corr {
		c.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	return b[4:]
}

// TestAPIVersionsHeaderHasNoTags: at v3+ the ApiVersions response header is
// still v0 (no tagged fields), and the body lists exactly the registry.
func TestAPIVersionsHeaderHasNoTags(t *testing.T) {
	s := startServer(t, Config{})
	c := dialRaw(t, s.Addr())
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 7)
	body := c.mustRecv(7)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(3)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding the body right after the correlation id: %v", err)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("error code %d", resp.ErrorCode)
	}
	served := 0
	for _, a := range registry {
		if a != nil {
			served++
		}
	}
	if len(resp.ApiKeys) != served {
		t.Fatalf("%d keys advertised, %d served", len(resp.ApiKeys), served)
	}
	for _, k := range resp.ApiKeys {
		a := lookupAPI(k.ApiKey)
		if a == nil || a.minVersion != k.MinVersion || a.maxVersion != k.MaxVersion {
			t.Errorf("advertised %+v, registry has %+v", k, a)
		}
	}
}

// TestAPIVersionsTooNew: a version above ours is answered at v0 with
// UNSUPPORTED_VERSION and our ranges, and the connection stays usable.
func TestAPIVersionsTooNew(t *testing.T) {
	s := startServer(t, Config{})
	c := dialRaw(t, s.Addr())
	// Hand-made: kmsg cannot encode a version it does not know.
	frame := []byte{0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 5, 0xff, 0xff}
	if _, err := c.nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(c.mustRecv(5)); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("got code %d with %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
	c.send(kmsg.NewPtrApiVersionsRequest(), 0, 6)
	c.mustRecv(6)
}

// TestPipelinedRequestsAnsweredInOrder: several requests written at once
// are answered in request order, including one that waits (a fetch
// long-poll with nothing to read) before one that does not.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	s := startServer(t, Config{})
	c := dialRaw(t, s.Addr())
	fetch := fetchRequest("pipelined", 1<<20)
	fetch.MaxWaitMillis, fetch.MinBytes = 300, 1
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("pipelined")
	md.Topics = append(md.Topics, mt)
	md.AllowAutoTopicCreation = true

	c.send(md, 9, 1)
	c.send(fetch, 11, 2)
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 3)
	c.send(md, 4, 4)
	for corr := int32(1); corr <= 4; corr++ {
		c.mustRecv(corr)
	}
}

// TestEmptyRecordsEncodedEmptyNotNull checks the bytes librdkafka parses:
// an empty partition's records have length 0, not -1.
func TestEmptyRecordsEncodedEmptyNotNull(t *testing.T) {
	s := startServer(t, Config{})
	if _, err := s.topics.Create("empty", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, s.Addr())
	fetch := fetchRequest("empty", 1<<20)
	c.send(fetch, 11, 9) // v11: non-flexible, records are the last field
	body := c.mustRecv(9)
	if tail := binary.BigEndian.Uint32(body[len(body)-4:]); tail != 0 {
		t.Fatalf("records length field %#x, want 0", tail)
	}
}

// TestOversizedRequestClosesOnlyThatConnection: a length prefix beyond
// MaxRequestBytes closes the connection before anything is read or
// allocated for it, is counted, and other clients carry on.
func TestOversizedRequestClosesOnlyThatConnection(t *testing.T) {
	s := startServer(t, Config{MaxRequestBytes: 1 << 20})
	good := dialRaw(t, s.Addr())
	good.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
	good.mustRecv(1)

	for _, frame := range [][]byte{
		{0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 3}, // 2 GiB
		{0xff, 0xff, 0xff, 0xfe},              // negative
		{0, 0, 0, 3, 1, 2, 3},                 // shorter than any header
	} {
		bad := dialRaw(t, s.Addr())
		if _, err := bad.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		if b, err := bad.recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("frame %x: got %x, %v; want the connection closed", frame, b, err)
		}
	}
	if n := testutil.ToFloat64(s.metrics.badInput.WithLabelValues("request_size")); n != 3 {
		t.Errorf("request_size counted %v times, want 3", n)
	}
	good.send(kmsg.NewPtrApiVersionsRequest(), 3, 2)
	good.mustRecv(2)
}

// TestMalformedRequestClosesConnection: a body that does not decode, an
// unknown API key and an unserved version each close the connection and
// are counted by kind.
func TestMalformedRequestClosesConnection(t *testing.T) {
	s := startServer(t, Config{})
	for _, c := range []struct {
		kind  string
		frame []byte
	}{
		// Metadata v9 (flexible) whose topic array claims 100 topics.
		{"malformed_request", []byte{0, 0, 0, 13, 0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0, 100, 0}},
		{"unknown_api", []byte{0, 0, 0, 10, 0x7f, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}},
		{"unsupported_version", []byte{0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff}},
	} {
		rc := dialRaw(t, s.Addr())
		if _, err := rc.nc.Write(c.frame); err != nil {
			t.Fatal(err)
		}
		if b, err := rc.recv(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: got %x, %v; want the connection closed", c.kind, b, err)
		}
		if n := testutil.ToFloat64(s.metrics.badInput.WithLabelValues(c.kind)); n != 1 {
			t.Errorf("%s counted %v times, want 1", c.kind, n)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestProduceBadAcks: acks other than 0, 1 and -1 is refused per partition.
func TestProduceBadAcks(t *testing.T) {
	s := startServer(t, Config{})
	c := dialRaw(t, s.Addr())
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 2
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "acks"
	rt.Partitions = append(rt.Partitions, kmsg.NewProduceRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	c.send(req, 9, 3)
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(9)
	body := c.mustRecv(3)
	if err := resp.ReadFrom(body[1:]); err != nil { // skip the flexible header's tags
		t.Fatal(err)
	}
	if got := resp.Topics[0].Partitions[0].ErrorCode; got != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("code %d, want INVALID_REQUIRED_ACKS", got)
	}
}
