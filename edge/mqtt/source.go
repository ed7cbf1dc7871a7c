package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("mqtt: bad config")

// PasswordEnv is where the MQTT password comes from when the URL has none.
const PasswordEnv = "PITWALL_MQTT_PASSWORD"

// Config configures an MQTT Source. An empty field means its default.
type Config struct {
	// Broker is the MQTT broker's HOST:PORT. Required.
	Broker string
	// Filter is the topic filter subscribed to, e.g. cars/+/telemetry.
	// The car id is the topic level its first "+" matches. Required.
	Filter string
	// Car is the car id when Filter has no "+". Default: none.
	Car string
	// QoS is the subscription's quality of service, 0–2. Default 1 (a
	// message is acknowledged to the broker only once it is in the spool).
	QoS *byte
	// ClientID is the MQTT client id; it must stay the same across
	// restarts for the broker to keep the session. Default
	// "pitwall-edge-<hostname>-<hash of broker and filter>".
	ClientID string
	// Username and Password authenticate, when set. The password never
	// leaves the process: Name carries no password (kafkasec.Redact).
	Username, Password string
	// TLS connects with MQTT over TLS (mqtts://). Default off.
	TLS bool
	// CAFile is the PEM CA bundle the broker's certificate must chain to.
	// Default: the system's roots.
	CAFile string
	// CertFile and KeyFile are a client certificate and key, PEM, for
	// brokers that require one. Default none; both or neither.
	CertFile, KeyFile string
	// Name names the source. Default "mqtt://" + Broker + "/" + Filter.
	Name string
	// QueueLen is how many received messages may wait for the spool.
	// Default 8192.
	QueueLen int
	// QuietWarn logs a warning when nothing matched Filter this long
	// after the source started: almost always a filter that names the
	// wrong topics. Default 10s.
	QuietWarn time.Duration
	// Logger receives connection messages. Default slog.Default().
	Logger *slog.Logger
}

// Source subscribes to a topic filter on an MQTT broker with a persistent
// session and decodes what it receives.
type Source struct {
	cfg      Config
	qos      byte
	carLevel int // topic level of the car id; -1: cfg.Car
	tls      *tls.Config
}

// tlsConfig builds the TLS settings of cfg; the broker's host name is
// checked against its certificate.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if host, _, err := net.SplitHostPort(cfg.Broker); err == nil {
		tc.ServerName = host
	}
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ca=: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%w: ca=%s: no PEM certificate in it", ErrConfig, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("%w: cert= and key= go together", ErrConfig)
	}
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: cert=%s: %w", ErrConfig, cfg.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// New checks cfg; Run connects.
func New(cfg Config) (*Source, error) {
	if cfg.Broker == "" || cfg.Filter == "" {
		return nil, fmt.Errorf("%w: need a broker and a topic filter", ErrConfig)
	}
	s := &Source{qos: 1, carLevel: -1}
	if cfg.QoS != nil {
		s.qos = *cfg.QoS
	}
	if s.qos > 2 {
		return nil, fmt.Errorf("%w: qos %d", ErrConfig, s.qos)
	}
	for i, level := range strings.Split(cfg.Filter, "/") {
		if level == "+" {
			s.carLevel = i
			break
		}
	}
	if s.carLevel < 0 && !telemetry.ValidCar(cfg.Car) {
		return nil, fmt.Errorf("%w: filter %q has no \"+\" for the car id: give car=ID", ErrConfig, cfg.Filter)
	}
	if cfg.ClientID == "" {
		host, _ := os.Hostname()
		h := fnv.New32a()
		h.Write([]byte(cfg.Broker + "/" + cfg.Filter))
		cfg.ClientID = fmt.Sprintf("pitwall-edge-%s-%08x", host, h.Sum32())
	}
	if cfg.Name == "" {
		scheme := "mqtt://"
		if cfg.TLS {
			scheme = "mqtts://"
		}
		cfg.Name = scheme + cfg.Broker + "/" + cfg.Filter
	}
	if cfg.TLS {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 8192
	}
	if cfg.QuietWarn <= 0 {
		cfg.QuietWarn = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s.cfg = cfg
	return s, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// carOf returns the car id a topic names.
func (s *Source) carOf(topic string) (string, error) {
	if s.carLevel < 0 {
		return s.cfg.Car, nil
	}
	levels := strings.Split(topic, "/")
	if s.carLevel >= len(levels) || !telemetry.ValidCar(levels[s.carLevel]) {
		return "", fmt.Errorf("topic %q: no valid car id at level %d", topic, s.carLevel+1)
	}
	return levels[s.carLevel], nil
}

// Run connects (retrying until the broker answers), subscribes on every
// (re)connection, and spools what arrives until ctx is cancelled. QoS 1
// and 2 messages are acknowledged only after they are in the spool, and
// the session is persistent, so messages the edge had not taken when it
// stopped or crashed are delivered again when it returns.
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	log := s.cfg.Logger.With("source", s.cfg.Name)
	msgs := make(chan paho.Message, s.cfg.QueueLen)
	var closing atomic.Bool
	handler := func(_ paho.Client, m paho.Message) {
		if closing.Load() {
			return // not acknowledged: the broker sends it again next session
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}
	conn := &connState{log: log, sink: sink}
	scheme := "tcp://"
	if s.tls != nil {
		scheme = "ssl://"
	}
	opts := paho.NewClientOptions().AddBroker(scheme + s.cfg.Broker).SetClientID(s.cfg.ClientID).SetTLSConfig(s.tls).
		SetUsername(s.cfg.Username).SetPassword(s.cfg.Password).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(10 * time.Second).
		SetOrderMatters(true).SetAutoAckDisabled(true).SetDefaultPublishHandler(handler).
		SetConnectionLostHandler(func(_ paho.Client, err error) { conn.lost(err) })
	var wg sync.WaitGroup
	opts.SetOnConnectHandler(func(c paho.Client) {
		tok := c.Subscribe(s.cfg.Filter, s.qos, handler)
		wg.Add(1)
		go func() { // waiting inside the handler would block paho
			defer wg.Done()
			if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
				conn.connected() // up: connected and subscribed
				return
			}
			log.Error("mqtt: subscribe failed", "filter", s.cfg.Filter, "err", tok.Error())
			sink.Up(false, fmt.Errorf("mqtt: subscribe %s: %v", s.cfg.Filter, tok.Error()))
		}()
	})
	client := paho.NewClient(opts)
	if !s.connect(ctx, client, conn) {
		sink.Up(false, nil)
		return nil
	}
	s.consume(ctx, msgs, sink, log)
	// Stop taking messages; spool and acknowledge what was taken.
	closing.Store(true)
	s.drain(msgs, sink)
	client.Disconnect(250)
	wg.Wait()
	sink.Up(false, nil)
	return nil
}

// connect makes the first connection, retrying until it works or ctx is
// done; later drops are paho's auto-reconnect's business.
func (s *Source) connect(ctx context.Context, client paho.Client, conn *connState) bool {
	for ctx.Err() == nil {
		tok := client.Connect()
		tok.WaitTimeout(15 * time.Second)
		if client.IsConnected() {
			return true
		}
		err := tok.Error()
		if err == nil {
			err = errors.New("no answer")
		}
		conn.lost(err)
		source.Sleep(ctx, time.Second)
	}
	return false
}

// connState logs each outage once when it starts and once when it ends.
type connState struct {
	log  *slog.Logger
	sink source.Sink
	mu   sync.Mutex
	down time.Time
	ever bool
}

func (c *connState) lost(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down.IsZero() {
		c.down = time.Now()
		c.log.Warn("mqtt: broker unreachable; reconnecting until it is back", "err", err)
	}
	c.sink.Up(false, fmt.Errorf("mqtt: %w", err))
}

func (c *connState) connected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.down.IsZero() && c.ever {
		c.log.Info("mqtt: broker back", "after", time.Since(c.down).Round(time.Millisecond))
	}
	c.down, c.ever = time.Time{}, true
	c.sink.Up(true, nil)
}

// consume spools messages in batches until ctx is done. A subscription
// that matched nothing for QuietWarn is worth one warning: the edge would
// otherwise sit at 0 frames/s with no hint that the filter is wrong.
func (s *Source) consume(ctx context.Context, msgs <-chan paho.Message, sink source.Sink, log *slog.Logger) {
	d := newDecoder(s, sink)
	quiet := time.NewTimer(s.cfg.QuietWarn)
	defer quiet.Stop()
	seen, warned := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-quiet.C:
			if !seen {
				log.Warn("mqtt: no message matched the subscription yet; check the topic filter (Pitwall publishes PREFIX/CAR/frames and PREFIX/CAR/channels: subscribe to PREFIX/+/#)",
					"filter", s.cfg.Filter, "for", s.cfg.QuietWarn)
				warned = true
			}
		case m := <-msgs:
			if !seen && warned {
				log.Info("mqtt: first message matched the subscription", "topic", m.Topic())
			}
			seen = true
			d.batch(m, msgs)
		}
	}
}

func (s *Source) drain(msgs <-chan paho.Message, sink source.Sink) {
	d := newDecoder(s, sink)
	for {
		select {
		case m := <-msgs:
			d.batch(m, msgs)
		default:
			return
		}
	}
}

// decoder decodes messages into the sink.
type decoder struct {
	s     *Source
	sink  source.Sink
	codec *telemetry.Codec
	frame telemetry.Frame
	cat   telemetry.ChannelCatalog
	taken []paho.Message
}

func newDecoder(s *Source, sink source.Sink) *decoder {
	return &decoder{s: s, sink: sink, codec: telemetry.MustNewCodec()}
}

// batch decodes first and whatever else is queued (up to 1024), flushes
// the sink and then acknowledges them all.
func (d *decoder) batch(first paho.Message, more <-chan paho.Message) {
	d.taken = append(d.taken[:0], first)
	for len(d.taken) < 1024 {
		select {
		case m := <-more:
			d.taken = append(d.taken, m)
			continue
		default:
		}
		break
	}
	recv := time.Now()
	for _, m := range d.taken {
		d.message(m.Topic(), m.Payload(), recv)
	}
	d.sink.Flush()
	for _, m := range d.taken {
		m.Ack()
	}
}

// message decodes one message.
func (d *decoder) message(topic string, payload []byte, recv time.Time) {
	car, err := d.s.carOf(topic)
	if err != nil {
		d.sink.Bad(source.ReasonBadTopic, payload, err, recv)
		return
	}
	kind, err := DecodePayload(d.codec, car, payload, &d.frame, &d.cat)
	var bp *BadPayload
	switch {
	case errors.As(err, &bp):
		d.sink.Bad(bp.Reason, payload, fmt.Errorf("topic %s: %w", topic, err), recv)
	case kind == KindFrame:
		if err := d.sink.Frame(&d.frame, recv); err != nil {
			d.sink.Bad(source.ReasonInvalid, payload, err, recv)
		}
	case kind == KindCatalog:
		if err := d.sink.Catalog(&d.cat, recv); err != nil {
			d.sink.Bad(source.ReasonInvalid, payload, err, recv)
		}
	}
}
