package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/export"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

//go:embed static
var static embed.FS

// DefaultPushEvery is the shortest time between two states pushed to a
// page: at most one per frame of a 60 Hz screen (the page draws the
// newest state once per animation frame: more would be parsed and never
// drawn), so a live record waits at most 16 ms for the next push.
const DefaultPushEvery = 16 * time.Millisecond

// pushGather is how long a change after a quiet spell waits for the rest
// of its burst before it is pushed. Live records come in bursts: every
// car's at the same sensor time (a simulated field), a fetch's worth at
// once; pushed on the first record, the rest of the burst (within 1-3
// ms on a loaded machine) waited a whole PushEvery for the next push.
const pushGather = 2 * time.Millisecond

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("web: bad config")

// Config configures a Server.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Required.
	Brokers []string
	// Sarama, if set, is the client configuration to start from (TLS,
	// SASL); Run sets what reading needs. Default sarama.NewConfig().
	Sarama *sarama.Config
	// Timing is the track: its lines are drawn on the map, its length
	// places the speed trap. Required.
	Timing track.Timing
	// Drivers name the cars. Default none: car ids.
	Drivers Drivers
	// Order is OrderRace (default) or OrderBest (practice, qualifying).
	Order string
	// SpeedTrapM is where the speed trap is, metres after the line.
	// Default: 100 m before the line, which sits on the main straight on
	// most circuits.
	SpeedTrapM float64
	// Group shows only the laps this consumer group timed (see
	// processors.HeaderGroup). Default: every group's.
	Group string
	// Session shows only this session's laps. Default: every session's.
	Session string
	// PushEvery is the shortest time between two pushes. Default
	// DefaultPushEvery.
	PushEvery time.Duration
	// LiveHistory is how far back (record time) the server reads
	// telemetry.live when it starts, for the lap analysis of laps driven
	// before it. Default 2h.
	LiveHistory time.Duration
	// AlarmRules name the alarm rules the processor evaluates (pitwall
	// web --alarms FILE), listed on the page as armed. Default none. The
	// page shows telemetry.alarms' raised alarms either way.
	AlarmRules []string
	// Logger logs. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("%w: no brokers", ErrConfig)
	}
	if c.Timing.Length <= 0 {
		return c, fmt.Errorf("%w: no track", ErrConfig)
	}
	if c.Order == "" {
		c.Order = OrderRace
	}
	if c.Order != OrderRace && c.Order != OrderBest {
		return c, fmt.Errorf("%w: order %q, want %s or %s", ErrConfig, c.Order, OrderRace, OrderBest)
	}
	if c.SpeedTrapM < 0 || c.SpeedTrapM >= c.Timing.Length {
		return c, fmt.Errorf("%w: speed trap at %.0f m, want 0 to %.0f (the lap length)", ErrConfig, c.SpeedTrapM, c.Timing.Length)
	}
	if c.SpeedTrapM == 0 {
		// The line sits on the main straight on most circuits: the trap
		// goes just before it, where the cars are fastest.
		c.SpeedTrapM = c.Timing.Length - 100
	}
	if c.LiveHistory <= 0 {
		c.LiveHistory = 2 * time.Hour
	}
	if c.PushEvery <= 0 {
		c.PushEvery = DefaultPushEvery
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Sarama == nil {
		c.Sarama = sarama.NewConfig()
	}
	return c, nil
}

// Server serves the pit wall page and pushes the live state to every
// page open on it.
type Server struct {
	cfg   Config
	mu    sync.Mutex
	tower *Tower
	trace *traces
	ver   uint64 // bumped on every change
	stats Stats

	client sarama.Client // set once connected, for exports
	alarms *Alarms       // raised alarms (telemetry.alarms), under mu

	subsMu sync.Mutex
	subs   map[chan []byte]struct{}
	// changed wakes push after a change (one pending wake-up is enough).
	changed chan struct{}
}

// Stats count what the server did.
type Stats struct {
	Laps, Live, Bad, Pushed, Dropped int64
}

// New returns a server for cfg.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, tower: NewTower(cfg.Order, cfg.Drivers, cfg.SpeedTrapM), trace: newTraces(cfg.Timing),
		subs: map[chan []byte]struct{}{}, alarms: NewAlarms(), changed: make(chan struct{}, 1)}, nil
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Listen binds addr, so the caller can print the address before Serve.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen %s: %w (choose another with --web HOST:PORT, or --web off)", addr, err)
	}
	return ln, nil
}

// Serve serves the page on ln and reads the log until ctx ends; then it
// closes ln and returns nil, or the error that stopped it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("web: %w", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		if err := s.read(ctx); err != nil {
			errc <- err
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		s.push(ctx)
	}()
	<-ctx.Done()
	shut, done := context.WithTimeout(context.Background(), 2*time.Second)
	defer done()
	_ = srv.Shutdown(shut) // the event streams end with ctx
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Handler serves the page, its assets, /events (server-sent events: the
// state as JSON, pushed) and /api/state (the state once, for scripts).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(static, "static")
	files := http.FileServerFS(assets)
	mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.state())
	})
	mux.HandleFunc("GET /api/map", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := s.mapJSON()
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /api/laps", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		laps := s.tower.Laps()
		s.mu.Unlock()
		writeJSON(w, laps)
	})
	mux.HandleFunc("GET /api/lap", func(w http.ResponseWriter, r *http.Request) {
		car := r.URL.Query().Get("car")
		n, err := strconv.ParseInt(r.URL.Query().Get("lap"), 10, 32)
		if !telemetry.ValidCar(car) || err != nil {
			http.Error(w, "want ?car=ID&lap=N", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		tr := s.tower.Trace(car, int32(n))
		var body []byte
		if tr != nil {
			body, err = json.Marshal(tr)
		}
		s.mu.Unlock()
		if tr == nil || err != nil {
			http.Error(w, fmt.Sprintf("no trace of %s lap %d (the server did not see it driven)", car, n), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /api/export", s.export)
	mux.HandleFunc("GET /events", s.events)
	return mux
}

// State is what a page is pushed.
type State struct {
	// SentMs is the server's wall clock when the state was made (ms since
	// the epoch), so the page can measure how late updates arrive.
	SentMs int64  `json:"sent_ms"`
	Track  string `json:"track"`
	Order  string `json:"order"`
	Rows   []Row  `json:"rows"`
	// MapVer changes when the map (GET /api/map, event "map") does.
	MapVer uint64 `json:"map_ver"`
	// Alarms are the raised alarms, most severe first (alarms.go);
	// AlarmRules the armed rules (Config.AlarmRules).
	Alarms     []AlarmView `json:"alarms"`
	AlarmRules []string    `json:"alarm_rules,omitempty"`
}

func (s *Server) state() []byte {
	s.mu.Lock()
	st := State{SentMs: time.Now().UnixMilli(), Track: s.cfg.Timing.Name, Order: s.cfg.Order,
		Rows: s.tower.Rows(), MapVer: s.trace.ver, Alarms: s.alarmViews(), AlarmRules: s.cfg.AlarmRules}
	s.alarms.Mark(st.Rows)
	s.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil { // only plain values: a bug
		panic(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// export sends a lap as a CSV file MoTeC i2 or RaceChrono imports
// (?car=ID&lap=N&format=motec|racechrono), read from the log's frames.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	car, format := q.Get("car"), q.Get("format")
	n, err := strconv.ParseInt(q.Get("lap"), 10, 32)
	if !telemetry.ValidCar(car) || err != nil || (format != export.FormatMoTeC && format != export.FormatRaceChrono) {
		http.Error(w, "want ?car=ID&lap=N&format=motec|racechrono", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	l, ok := s.tower.Lap(car, int32(n))
	d := s.cfg.Drivers.Of(car)
	client := s.client
	s.mu.Unlock()
	if !ok || client == nil {
		http.Error(w, fmt.Sprintf("no lap %d of %s", n, car), http.StatusNotFound)
		return
	}
	sess, err := export.Read(r.Context(), client, car, l.Session, l.StartNs, l.EndNs)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	sess.Crossings, sess.FirstLap, sess.Venue, sess.Driver = []int64{l.StartNs, l.EndNs}, l.Lap, s.cfg.Timing.Name, d.Name
	w.Header().Set("Content-Type", "text/csv")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-lap%d-%s.csv"`, car, n, format))
	if err := export.Write(w, sess, format, 0); err != nil {
		s.cfg.Logger.Warn("web: export", "car", car, "lap", n, "err", err)
	}
}

// mapJSON returns the map and its version.
func (s *Server) mapJSON() ([]byte, uint64) {
	s.mu.Lock()
	m, ver := s.trace.outline(), s.trace.ver
	s.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil { // only plain values: a bug
		panic(err)
	}
	return b, ver
}

// events streams the state to one page as server-sent events, each time
// it changed, at most every PushEvery.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	ch := make(chan []byte, 1)
	s.subsMu.Lock()
	s.subs[ch] = struct{}{}
	s.subsMu.Unlock()
	defer func() {
		s.subsMu.Lock()
		delete(s.subs, ch)
		s.subsMu.Unlock()
	}()
	var mapSent uint64
	send := func(b []byte) bool {
		s.mu.Lock()
		mv := s.trace.ver
		s.mu.Unlock()
		if mv != mapSent || mapSent == 0 {
			m, v := s.mapJSON()
			if _, err := fmt.Fprintf(w, "event: map\ndata: %s\n\n", m); err != nil {
				return false
			}
			mapSent = max(v, 1)
		}
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send(s.state()) {
		return
	}
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			if !send(b) {
				return
			}
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// push sends the state to every page when it changed, at most every
// PushEvery. A page that has not taken the previous state gets the newer
// one instead: a slow page skips states, it never holds the others back.
// A change wakes it (changed): after a quiet spell the state goes out
// pushGather later, with the rest of the change's burst; otherwise as
// soon as PushEvery has passed since the last push.
func (s *Server) push(ctx context.Context) {
	var sent uint64
	var last, due time.Time // due: when the pending change goes out (zero: none pending)
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.changed:
		case <-wait.C:
		}
		s.mu.Lock()
		v := s.ver
		s.mu.Unlock()
		s.subsMu.Lock()
		n := len(s.subs)
		s.subsMu.Unlock()
		if v == sent || n == 0 {
			continue
		}
		now := time.Now()
		if due.IsZero() {
			due = later(last.Add(s.cfg.PushEvery), now.Add(pushGather))
		}
		if d := due.Sub(now); d > 0 {
			wait.Reset(d) // the change goes out then
			continue
		}
		due = time.Time{}
		sent, last = v, time.Now()
		b := s.state()
		var dropped int64
		s.subsMu.Lock()
		for ch := range s.subs {
			select {
			case <-ch: // the page has not taken the last one
				dropped++
			default:
			}
			ch <- b
		}
		s.subsMu.Unlock()
		s.mu.Lock()
		s.stats.Pushed++
		s.stats.Dropped += dropped
		s.mu.Unlock()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// change marks the state changed (under mu) and wakes push.
func (s *Server) change() {
	s.ver++
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// read follows telemetry.laps, telemetry.live and telemetry.alarms until ctx ends, waiting
// for the broker and the topics to exist.
func (s *Server) read(ctx context.Context) error {
	sc := *s.cfg.Sarama
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.MaxWaitTime = 50 * time.Millisecond
	var client sarama.Client
	logged := false
	for {
		var err error
		if client, err = sarama.NewClient(s.cfg.Brokers, &sc); err == nil {
			break
		}
		if !logged {
			s.cfg.Logger.Warn("web: no broker reachable yet; retrying until one answers", "brokers", s.cfg.Brokers, "err", err)
			logged = true
		}
		if !sleep(ctx, time.Second) {
			return nil
		}
	}
	defer client.Close()
	s.mu.Lock()
	s.client = client
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.client = nil
		s.mu.Unlock()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Live records on a connection of their own: requests on one
		// connection are answered in order, and the laps' and alarms'
		// long polls (50 ms each when idle) would queue ahead of the
		// live fetch (when they were a consumer per partition, they
		// held live records back a second at a time).
		lc, err := sarama.NewClient(s.cfg.Brokers, &sc)
		if err != nil {
			s.cfg.Logger.Warn("web: a second connection for live records failed; sharing the laps'", "err", err)
			lc = client
		} else {
			defer lc.Close()
		}
		s.readLive(ctx, lc)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.readAlarms(ctx, client)
	}()
	s.readLaps(ctx, client) // follow.go
	return nil
}

// readLive follows telemetry.live from LiveHistory ago. One consumer
// reads every partition, so one fetch request long-polls them all (a
// consumer per partition queues a long poll each on the connection;
// with the laps' it held live records back 1.2 s at a time: pitwall
// bench web).
func (s *Server) readLive(ctx context.Context, client sarama.Client) {
	codec := telemetry.MustNewCodec()
	for ctx.Err() == nil {
		parts, err := client.Partitions(telemetry.TopicLive)
		if err != nil || len(parts) == 0 {
			_ = client.RefreshMetadata(telemetry.TopicLive)
			sleep(ctx, time.Second)
			continue
		}
		since := time.Now().Add(-s.cfg.LiveHistory).UnixMilli()
		from := map[int32]int64{}
		for _, p := range parts {
			o, err := client.GetOffset(telemetry.TopicLive, p, since)
			if err != nil || o < 0 { // nothing that recent: from the end
				o = sarama.OffsetNewest
			}
			from[p] = o
		}
		err = followAll(ctx, client, telemetry.TopicLive, from, func(m *sarama.ConsumerMessage) {
			var l telemetry.Live
			if err := codec.DecodeLive(m.Value, &l); err != nil {
				s.bad("live", err)
				return
			}
			s.live(&l)
		})
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("web: reading live records", "err", err)
		}
		sleep(ctx, time.Second)
	}
}

func (s *Server) lap(l *telemetry.Lap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Session != "" && l.Session != s.cfg.Session {
		return
	}
	if s.tower.AddLap(l) {
		s.stats.Laps++
		s.change()
	}
}

func (s *Server) live(l *telemetry.Live) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Session != "" && l.Session != s.cfg.Session {
		return
	}
	s.stats.Live++
	s.tower.AddLive(l)
	s.trace.add(l)
	s.alarms.Session(l.Car, l.Session, l.TimeNs) // alarms.go
	s.change()
}

func (s *Server) bad(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stats.Bad == 0 {
		s.cfg.Logger.Warn("web: skipping records that do not decode (logged once)", "kind", kind, "err", err)
	}
	s.stats.Bad++
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
