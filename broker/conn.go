package broker

import (
	"bufio"
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxInFlight bounds the replies a connection may owe at once. When it is
// reached the read loop stops reading, which pushes back on the client
// through TCP instead of queueing without limit.
const maxInFlight = 256

// conn serves one client connection.
//
// The read goroutine decodes requests and runs their handlers in order; the
// write goroutine sends replies in the same order, waiting for any that are
// still pending. Neither holds a lock while blocked on the network.
type conn struct {
	s      *Server
	nc     net.Conn
	l      *listener // the listener it came in on
	remote string

	// ctx is cancelled when the connection is finished with: its pending
	// replies stop waiting.
	ctx    context.Context
	cancel context.CancelFunc

	replies    chan *reply
	fetchSlots chan struct{}  // one per fetch reply not yet written (handleFetch)
	wg         sync.WaitGroup // the writer and every pending reply's goroutine

	// outstanding counts replies queued and not yet written; lastActive
	// is when a request last arrived or a reply was last written (Unix
	// ns). Together they tell an idle connection (ConnectionsMaxIdle).
	outstanding atomic.Int32
	lastActive  atomic.Int64

	// Set by the read goroutine only.
	clientID       string
	clientSoftware string
	handedOut      [][2]string // group, member id: see noteHandedOutID
	// principal is who the client is (auth.Anonymous until TLS or SASL
	// says otherwise); authenticated is false on a SASL listener until
	// SaslAuthenticate succeeds (conn_auth.go).
	principal     string
	authenticated bool
	sasl          saslState
	// closeAfterReply ends the connection once the reply just queued is
	// written (a failed SASL authentication).
	closeAfterReply bool
	// saslRaw is set after a v0 SaslHandshake: the next frames are bare
	// SASL tokens, not requests (17_sasl_handshake.go).
	saslRaw bool
}

// reply is the answer to one request. resp is final once done is closed;
// done is nil when resp was final from the start.
type reply struct {
	corr int32
	key  int16
	resp kmsg.Response
	done chan struct{}
	// token is sent bare, length-prefixed, when resp is nil: a SASL
	// token after a v0 SaslHandshake.
	token []byte
}

// ready is a reply that is final now.
func ready(resp kmsg.Response) *reply { return &reply{resp: resp} }

// pending returns a reply whose response fn builds on its own goroutine,
// for handlers that wait (an fsync, a long poll). fn must return promptly
// once ctx is done or the server starts draining.
func (c *conn) pending(fn func(ctx context.Context) kmsg.Response) *reply {
	r := &reply{done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(r.done)
		r.resp = fn(c.ctx)
	}()
	return r
}

// awaitGroup waits for a group coordinator's answer on ch, in a pending
// reply. With untilDrain, it also gives up when the broker starts shutting
// down (a JoinGroup may wait for minutes); otherwise only when the
// connection ends (a commit waits for one fsync at most). Giving up answers
// errNotCoordinator, so the client finds the coordinator again.
func awaitGroup[T any](c *conn, ctx context.Context, ch <-chan T, untilDrain bool) (T, error) {
	drain := c.s.draining
	if !untilDrain {
		drain = nil
	}
	var zero T
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return zero, errNotCoordinator
	case <-drain:
		return zero, errNotCoordinator
	}
}

func newConn(s *Server, nc net.Conn, l *listener) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	c := &conn{
		s:             s,
		nc:            nc,
		l:             l,
		principal:     anonymous,
		authenticated: !l.proto.SASL(),
		remote:        nc.RemoteAddr().String(),
		ctx:           ctx,
		cancel:        cancel,
		replies:       make(chan *reply, maxInFlight),
		fetchSlots:    make(chan struct{}, fetchesPerConn),
	}
	c.lastActive.Store(time.Now().UnixNano())
	return c
}

// serve runs the connection until the client leaves, sends something we
// cannot serve, or the server shuts down; then it sends every reply still
// owed and closes the socket.
func (c *conn) serve() {
	if err := c.handshake(); err != nil {
		c.cancel()
		c.nc.Close()
		return
	}
	c.wg.Add(1)
	go c.writeLoop()
	err := c.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
		c.s.log.Debug("connection ended", "remote", c.remote, "client", c.clientID, "err", err)
	}
	close(c.replies)
	if !c.draining() {
		// The client left (or was sent away): nobody will read the
		// replies still owed, so those that wait stop now, and a
		// JoinGroup among them leaves its group at once.
		c.cancel()
	}
	c.wg.Wait()
	c.cancel()
	c.nc.Close()
	c.forgetHandedOutIDs()
}

// errCloseConn ends the read loop for a request we refuse to serve; the
// reason has already been reported.
var errCloseConn = errors.New("broker: closing connection")

// errDraining ends the read loop when the server starts shutting down.
var errDraining = errors.New("broker: shutting down")

// readBufferSize is a connection's read buffer: small, since request
// bodies are read straight into their own buffers past it, and idle
// connections should cost little.
const readBufferSize = 4 << 10

func (c *conn) readLoop() error {
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var sizeBuf [4]byte
	for {
		if err := c.awaitRequest(br); err != nil {
			return err
		}
		deadline := time.Now().Add(c.s.cfg.RequestTimeout)
		if err := c.setReadDeadline(deadline); err != nil {
			return err
		}
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			return c.readFailed(err)
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		// Checked before allocating: a hostile or confused peer cannot
		// make us allocate more than MaxRequestBytes.
		if c.saslRaw {
			// A bare SASL token after a v0 SaslHandshake.
			if size < 1 || size > maxSASLToken {
				c.s.bad.report("sasl_token_size", fmt.Errorf("SASL token length %d outside [1, %d]", size, maxSASLToken), "remote", c.remote)
				return errCloseConn
			}
		} else if size < minRequestHeader || size > c.s.cfg.MaxRequestBytes {
			c.s.bad.report("request_size", fmt.Errorf("request length %d outside [%d, %d]", size, minRequestHeader, c.s.cfg.MaxRequestBytes), "remote", c.remote)
			return errCloseConn
		}
		frame, done, err := c.readBody(br, int(size), deadline)
		if err != nil {
			return c.readFailed(err)
		}
		c.lastActive.Store(time.Now().UnixNano())
		c.s.metrics.bytesIn.Add(float64(size + 4))
		var r *reply
		if c.saslRaw {
			r, err = c.handleSASLToken(*frame)
		} else if r, err = c.handleFrame(*frame); binary.BigEndian.Uint16(*frame) == uint16(produceAPI.key) {
			// A produce request is done with its frame once its
			// handler returns: the batches were written to the log
			// and nothing of the request is kept. Reusing the frame
			// spares the garbage collector a large buffer per
			// request. Other requests may keep slices of their frame
			// (group metadata, for one), so theirs are left to the GC.
			putFrame(frame)
		}
		done()
		if err != nil {
			return err
		}
		if r == nil {
			continue
		}
		c.outstanding.Add(1)
		select {
		case c.replies <- r:
		case <-c.ctx.Done():
			discard(r)
			return c.ctx.Err()
		}
		if c.closeAfterReply {
			return errCloseConn
		}
	}
}

// discard drops a reply that will never be written, giving back what it
// holds (a fetch reply's buffers and fetch memory). A pending reply
// finishes promptly once the connection's context is done.
func discard(r *reply) {
	if r.done != nil {
		<-r.done
	}
	if fr, ok := r.resp.(*fetchReply); ok {
		fr.release()
	}
}

// awaitRequest waits for the first byte of the next request. A connection
// that has sent nothing and been owed nothing for ConnectionsMaxIdle is
// closed (a reply still owed, such as a long poll, keeps it busy).
func (c *conn) awaitRequest(br *bufio.Reader) error {
	if br.Buffered() > 0 {
		return nil
	}
	idle := c.s.cfg.ConnectionsMaxIdle
	for {
		var deadline time.Time
		if idle > 0 {
			deadline = time.Unix(0, c.lastActive.Load()).Add(idle)
			if c.outstanding.Load() > 0 {
				deadline = time.Now().Add(idle)
			}
		}
		if err := c.setReadDeadline(deadline); err != nil {
			return err
		}
		_, err := br.Peek(1)
		if err == nil {
			return nil
		}
		if !isTimeout(err) || c.draining() {
			return err
		}
		if c.outstanding.Load() == 0 && time.Since(time.Unix(0, c.lastActive.Load())) >= idle {
			c.s.metrics.connectionsClosed.WithLabelValues("idle").Inc()
			c.s.log.Debug("closing idle connection", "remote", c.remote, "client", c.clientID, "idle", idle)
			return errCloseConn
		}
	}
}

// readBody reads a request body of size bytes, growing its buffer as the
// bytes arrive: before each step (64 KiB, then doubling what has arrived)
// it waits for the step's first byte, then takes the step's bytes from the
// broker's request budget, waiting for them if need be (that wait does
// not count against the request's deadline). done gives the budget back;
// it must be called once the frame is no longer needed.
func (c *conn) readBody(br *bufio.Reader, size int, deadline time.Time) (frame *[]byte, done func(), err error) {
	b := c.s.requestBudget
	holder := b.enter()
	var held int64
	done = func() {
		b.release(held)
		b.leave(holder)
	}
	fail := func(err error) (*[]byte, func(), error) {
		if frame != nil {
			putFrame(frame)
		}
		done()
		return nil, nil, err
	}
	for have := 0; have < size; {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return fail(err)
			}
		}
		want := min(size, max(firstBodyStep, 2*have))
		if need := int64(frameCap(want)) - held; need > 0 && size <= smallRequest {
			// Counted but never kept waiting: heartbeats, metadata
			// and fetch requests go on while large requests queue
			// for budget, at a cost bounded by MaxConnections.
			b.take(need)
			held += need
		} else if need > 0 {
			waited, err := c.takeRequestBudget(holder, need)
			if err != nil {
				return fail(err)
			}
			held += need
			if waited > 0 {
				deadline = deadline.Add(waited)
				if err := c.setReadDeadline(deadline); err != nil {
					return fail(err)
				}
			}
		}
		next := getFrame(want)
		if frame != nil {
			copy(*next, (*frame)[:have])
			putFrame(frame)
		}
		frame = next
		if _, err := io.ReadFull(br, (*frame)[have:want]); err != nil {
			return fail(err)
		}
		have = want
	}
	return frame, done, nil
}

const (
	// firstBodyStep is the most of a request body read before it has
	// proved it is arriving.
	firstBodyStep = 64 << 10
	// smallRequest is the largest request that never waits for budget.
	smallRequest = 4 << 10
)

// takeRequestBudget takes n bytes of the request budget for holder,
// waiting until they are free; it returns how long it waited.
func (c *conn) takeRequestBudget(holder *list.Element, n int64) (time.Duration, error) {
	var start time.Time
	for {
		ok, freed := c.s.requestBudget.tryTake(holder, n)
		if ok {
			if start.IsZero() {
				return 0, nil
			}
			return time.Since(start), nil
		}
		if start.IsZero() {
			start = time.Now()
			c.s.metrics.requestBudgetWaits.Inc()
		}
		select {
		case <-freed:
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		case <-c.s.draining:
			return 0, errDraining
		}
	}
}

// setReadDeadline sets the read deadline (zero: none), unless the server
// is draining: drain sets an expired deadline to stop every reader, and
// must not be overwritten.
func (c *conn) setReadDeadline(t time.Time) error {
	if err := c.nc.SetReadDeadline(t); err != nil {
		return err
	}
	if c.draining() {
		return errDraining
	}
	return nil
}

func (c *conn) draining() bool {
	select {
	case <-c.s.draining:
		return true
	default:
		return false
	}
}

// readFailed reports a request that did not arrive in full: one that
// outlived RequestTimeout is counted and logged (sparingly).
func (c *conn) readFailed(err error) error {
	if isTimeout(err) && !c.draining() {
		c.s.metrics.connectionsClosed.WithLabelValues("request_timeout").Inc()
		c.s.slow.report("request_timeout", fmt.Errorf("request did not arrive within %v", c.s.cfg.RequestTimeout), "remote", c.remote, "client", c.clientID)
		return errCloseConn
	}
	return err
}

// minRequestHeader is the smallest request frame: api key, version,
// correlation id and a null client id.
const minRequestHeader = 2 + 2 + 4 + 2

// handleFrame decodes one request frame and runs its handler.
func (c *conn) handleFrame(frame []byte) (*reply, error) {
	key := int16(binary.BigEndian.Uint16(frame[0:]))
	version := int16(binary.BigEndian.Uint16(frame[2:]))
	corr := int32(binary.BigEndian.Uint32(frame[4:]))
	a := lookupAPI(key)
	if a == nil {
		c.s.bad.report("unknown_api", fmt.Errorf("api key %d is not served", key), "remote", c.remote)
		return nil, errCloseConn
	}
	if !c.authenticated && !c.mayBeforeAuth(key) {
		return nil, errCloseConn
	}
	if version < a.minVersion || version > a.maxVersion {
		if key == apiVersionsAPI.key {
			return &reply{corr: corr, key: key, resp: unsupportedAPIVersions()}, nil
		}
		c.s.bad.report("unsupported_version", fmt.Errorf("%s v%d outside v%d-v%d", a.name, version, a.minVersion, a.maxVersion), "remote", c.remote)
		return nil, errCloseConn
	}
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	clientID, body, err := parseHeaderTail(frame[8:], req.IsFlexible())
	if err == nil {
		err = req.ReadFrom(body)
	}
	if err != nil {
		c.s.bad.report("malformed_request", fmt.Errorf("%s v%d: %w", a.name, version, err), "remote", c.remote)
		return nil, errCloseConn
	}
	if clientID != "" && clientID != c.clientID {
		c.clientID = clientID
	}
	c.s.metrics.requests.WithLabelValues(a.name).Inc()
	r := a.handle(c, req)
	if r == nil {
		return nil, nil
	}
	r.corr, r.key = corr, key
	return r, nil
}

var errShortHeader = errors.New("broker: request header truncated")

// parseHeaderTail reads the rest of a request header after the correlation
// id: the nullable client id and, for flexible versions, the header's tagged
// fields (skipped). It returns the client id and the body.
func parseHeaderTail(b []byte, flexible bool) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, errShortHeader
	}
	n := int16(binary.BigEndian.Uint16(b))
	b = b[2:]
	var clientID string
	if n > 0 {
		if int(n) > len(b) {
			return "", nil, errShortHeader
		}
		clientID, b = string(b[:n]), b[n:]
	}
	if !flexible {
		return clientID, b, nil
	}
	tags, k := binary.Uvarint(b)
	if k <= 0 {
		return "", nil, errShortHeader
	}
	b = b[k:]
	for i := uint64(0); i < tags; i++ {
		if _, k = binary.Uvarint(b); k <= 0 {
			return "", nil, errShortHeader
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || size > uint64(len(b)-k) {
			return "", nil, errShortHeader
		}
		b = b[k+int(size):]
	}
	return clientID, b, nil
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	var bw *bufio.Writer // from writerPool while replies are being written
	wire := wireOf(c.nc) // TLS: corked while bw is held (tls_wire.go)
	var buf []byte
	var pieces net.Buffers
	var werr error
	for r := range c.replies {
		if r.done != nil {
			<-r.done
		}
		fr, isFetch := r.resp.(*fetchReply)
		if werr != nil {
			if isFetch {
				fr.release()
				<-c.fetchSlots
			}
			c.outstanding.Add(-1)
			continue // keep draining so the reader never blocks on us
		}
		if bw == nil {
			bw = writerPool.Get().(*bufio.Writer)
			bw.Reset(c.nc)
			if wire != nil {
				wire.cork()
			}
		}
		// The client must take the reply within RequestTimeout: one that
		// stops reading cannot pin it (and its fetch memory) for ever.
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.RequestTimeout))
		if isFetch {
			var n int
			n, pieces, werr = writeFetch(bw, c.nc, wire != nil, buf[:0], pieces[:0], r.corr, fr)
			<-c.fetchSlots // written (or failed) and released: the next fetch may be built
			c.s.metrics.bytesOut.Add(float64(n))
		} else {
			buf = appendReply(buf[:0], r)
			c.s.metrics.bytesOut.Add(float64(len(buf)))
			_, werr = bw.Write(buf)
		}
		if werr == nil && len(c.replies) == 0 {
			if werr = bw.Flush(); werr == nil && wire != nil {
				werr = wire.uncork()
			}
			if werr == nil {
				bw.Reset(nil)
				writerPool.Put(bw) // an idle connection holds no write buffer
				bw = nil
			}
		}
		c.lastActive.Store(time.Now().UnixNano())
		c.outstanding.Add(-1)
		if werr != nil {
			if isTimeout(werr) {
				c.s.metrics.connectionsClosed.WithLabelValues("reply_timeout").Inc()
				c.s.slow.report("reply_timeout", fmt.Errorf("reply not taken within %v", c.s.cfg.RequestTimeout), "remote", c.remote, "client", c.clientID)
			}
			c.cancel()
			c.nc.Close() // unblocks the reader
		}
		if cap(buf) > 16<<20 {
			buf = nil // do not pin an unusually large reply's buffer
		}
	}
	if werr == nil && bw != nil {
		bw.Flush()
	}
	if wire != nil {
		wire.uncork()
	}
}

// writerPool holds connections' write buffers between bursts of replies.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}

// writeBufferSize is a connection's write buffer: replies up to this size
// are copied into it and sent together; a fetch reply bigger than this is
// sent from its record buffers with writev instead.
const writeBufferSize = 64 << 10

// writeFetch writes a fetch reply, releases its record buffers and
// returns the frame size. A small reply is buffered like any other; a
// large one goes out with one writev of its encoded fields and record
// buffers, after what bw holds, so nothing is copied in user space. Over
// TLS (viaTLS), which has no writev, every reply goes through bw, so the
// small encoded fields share records with the batches around them
// instead of each taking a TLS record of its own.
func writeFetch(bw *bufio.Writer, nc net.Conn, viaTLS bool, enc []byte, pieces net.Buffers, corr int32, fr *fetchReply) (int, net.Buffers, error) {
	defer fr.release()
	f := appendFetchFrame(enc, corr, fr.FetchResponse)
	pieces = f.buffers(pieces)
	// The pieces reference the record buffers, which go back to the pool:
	// the slice kept for the next reply must not.
	defer clear(pieces)
	if f.size <= writeBufferSize || viaTLS {
		for _, p := range pieces {
			bw.Write(p) // a write error is sticky: the Flush after reports it
		}
		return f.size, pieces[:0], nil
	}
	if err := bw.Flush(); err != nil {
		return f.size, pieces[:0], err
	}
	all := pieces // WriteTo consumes its receiver; keep the backing array
	_, err := all.WriteTo(nc)
	return f.size, pieces[:0], err
}

// appendReply appends a response frame: length, correlation id, the
// header's tagged fields for flexible versions (never for ApiVersions), and
// the body.
func appendReply(dst []byte, r *reply) []byte {
	dst = append(dst, 0, 0, 0, 0)
	if r.resp == nil {
		// A bare SASL token (after a v0 SaslHandshake): no header.
		dst = append(dst, r.token...)
		binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
		return dst
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.corr))
	if r.resp.IsFlexible() && r.key != apiVersionsAPI.key {
		dst = append(dst, 0)
	}
	dst = r.resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	return dst
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Produce request frames are pooled by size class (powers of two from
// minPooledFrame), since a producer's requests are mostly alike in size.
const (
	minPooledFrame = 64 << 10
	maxPooledFrame = 16 << 20
)

var framePools [25]sync.Pool // index: log2 of the capacity; maxPooledFrame is 1<<24

// getFrame returns a buffer of length n, pooled when n is in the pooled
// range.
func getFrame(n int) *[]byte {
	if n < minPooledFrame || n > maxPooledFrame {
		b := make([]byte, n)
		return &b
	}
	class := bits.Len(uint(n - 1))
	if p, ok := framePools[class].Get().(*[]byte); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<class)
	return &b
}

// frameCap is the capacity of the buffer getFrame(n) returns.
func frameCap(n int) int {
	if n < minPooledFrame || n > maxPooledFrame {
		return n
	}
	return 1 << bits.Len(uint(n-1))
}

// putFrame returns a buffer from getFrame to its pool.
func putFrame(p *[]byte) {
	c := cap(*p)
	if c < minPooledFrame || c > maxPooledFrame || c&(c-1) != 0 {
		return
	}
	framePools[bits.Len(uint(c-1))].Put(p)
}
