package up

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/edge"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// Run starts the broker, the simulator, the edge, the lap processor and
// the board, and runs them until every car has completed cfg.Laps laps or
// ctx is cancelled; both are a clean stop (nil). A component that fails
// stops the others and its error is returned.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return err
	}
	timing, err := lapTiming(cfg)
	if err != nil {
		return err
	}
	cfg.Track = timing.Name // TrackFile's, when Track was not given
	webLn, err := listenWeb(cfg)
	if err != nil {
		return err
	}
	if webLn != nil {
		defer webLn.Close() // the page's server closes it too; this covers an early return
	}
	dir, removeDir, err := dataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer removeDir()
	brokers := cfg.Brokers
	if len(brokers) == 0 {
		srv, err := broker.New(broker.Config{Listen: cfg.Listen, DataDir: filepath.Join(dir, "broker"), Logger: cfg.Logger})
		if err != nil {
			return err
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background()) }()
		defer func() { err = errors.Join(err, srv.Close(), <-served) }()
		cfg.Logger.Info("up: broker ready", "listen", srv.Addr(), "data_dir", dir)
		brokers = []string{srv.Addr()}
	}

	a := &assembly{cfg: cfg, brokers: brokers, dir: dir, start: time.Now().UTC()}
	a.session = fmt.Sprintf("%s-%s", cfg.Track, a.start.Format("20060102T150405Z"))
	for i := range cfg.Cars {
		a.cars = append(a.cars, simulator.CarID(i, cfg.Cars))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	a.cancel = cancel
	defer a.wg.Wait() // runs after cancel below
	defer cancel(nil)
	if err := a.startWeb(ctx, webLn, timing); err != nil {
		return err
	}
	if err := a.startPipeline(ctx, timing); err != nil || ctx.Err() != nil {
		return a.result(ctx, err)
	}
	return a.result(ctx, a.board(ctx))
}

// assembly is one run's components and what they share.
type assembly struct {
	cfg     Config
	brokers []string
	dir     string
	start   time.Time
	session string
	cars    []string
	cancel  context.CancelCauseFunc
	wg      sync.WaitGroup
}

// errStopped is the cause a component's failure cancels the others with.
type errStopped struct{ err error }

func (e errStopped) Error() string { return e.err.Error() }
func (e errStopped) Unwrap() error { return e.err }

// result is Run's answer: err, or a failed component's error, or nil for
// a clean stop (cancelled, or done).
func (a *assembly) result(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	var stopped errStopped
	if errors.As(context.Cause(ctx), &stopped) {
		return stopped.err
	}
	return nil
}

// goRun runs fn in a goroutine of the assembly; its failure stops the rest.
func (a *assembly) goRun(ctx context.Context, name string, fn func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := fn(); err != nil && ctx.Err() == nil {
			a.cancel(errStopped{fmt.Errorf("up: %s: %w", name, err)})
		}
	}()
}

// startPipeline starts the simulator on a pty, the edge on its other end
// (and only then lets the simulator write), and the lap processor.
func (a *assembly) startPipeline(ctx context.Context, timing track.Timing) error {
	cfg := a.cfg
	ann := &announcer{path: make(chan string, 1), proceed: make(chan struct{}), ctx: ctx}
	speed := cfg.Speed
	if speed < 0 {
		speed = 0 // the simulator's "as fast as possible"
	}
	sim := simulator.Config{
		Track: cfg.Track, Cars: cfg.Cars, Seed: cfg.Seed, Speed: speed, Start: a.start, PaceFromStart: true, Session: a.session,
		PTY: true, Out: "serial", Truth: cfg.Truth, Stdout: ann, Logger: cfg.Logger, PitEvery: cfg.PitEvery,
		Rates: cfg.Rates, Faults: cfg.Faults, FaultTruth: cfg.FaultTruth,
	}
	a.goRun(ctx, "simulator", func() error { return simulator.Run(ctx, sim) })
	var path string
	select {
	case path = <-ann.path:
	case <-ctx.Done():
		return nil
	}
	in := "serial:" + path
	e, err := edge.New(edge.Config{
		Brokers: a.brokers, Inputs: []string{in + "?baud=115200"}, Spool: edge.SpoolConfig{Dir: filepath.Join(a.dir, "spool")},
		Metrics: "127.0.0.1:0", StatusEvery: -1, Logger: cfg.Logger, Security: cfg.Security,
	})
	if err != nil {
		return err
	}
	a.goRun(ctx, "edge", func() error { return e.Run(ctx) })
	if err := waitSourceUp(ctx, e.MetricsAddr(), in); err != nil || ctx.Err() != nil {
		return err
	}
	close(ann.proceed)
	pc := processors.Config{
		Brokers: a.brokers, Group: cfg.Group, Lap: lap.Config{Track: timing}, Logger: cfg.Logger,
		EdgeMetrics: []string{e.MetricsAddr()}, Alarms: cfg.Alarms, Security: cfg.Security,
	}
	if cfg.InfluxURL != "" {
		pc.Influx = &influx.Config{URL: cfg.InfluxURL, Bucket: cfg.InfluxBucket, Token: cfg.InfluxToken, Org: cfg.InfluxOrg}
	}
	a.goRun(ctx, "lap processor", func() error { return processors.Run(ctx, pc) })
	return nil
}

// announcer is the simulator's stdout: it takes the pty path the
// simulator prints and holds the simulator (which writes nothing before
// the path is printed) until the edge has the port open, so the edge's
// flush on opening discards nothing.
type announcer struct {
	path    chan string
	proceed chan struct{}
	ctx     context.Context
	once    sync.Once
}

func (a *announcer) Write(p []byte) (int, error) {
	first := false
	a.once.Do(func() {
		first = true
		a.path <- strings.TrimSpace(string(p))
	})
	if first {
		select {
		case <-a.proceed:
		case <-a.ctx.Done():
		}
	}
	return len(p), nil
}

// waitSourceUp polls the edge's /metrics until the source is up (its port
// open and flushed) or ctx ends.
func waitSourceUp(ctx context.Context, addr, source string) error {
	want := []byte(fmt.Sprintf("edge_source_up{source=%q} 1", source))
	url := "http://" + addr + "/metrics"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			up := scanFor(resp.Body, want)
			resp.Body.Close()
			if up {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func scanFor(r io.Reader, want []byte) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if bytes.Equal(sc.Bytes(), want) {
			return true
		}
	}
	return false
}

// board feeds the laps of this run into the board and shows it until
// every car has cfg.Laps laps (returns nil) or ctx ends.
func (a *assembly) board(ctx context.Context) error {
	cfg := a.cfg
	laps := make(chan telemetry.Lap, 64)
	tail := &lapTail{connect: func() (sarama.Client, error) { return a.client("pitwall-up-board", 0) }, group: cfg.Group, session: a.session, log: cfg.Logger, bad: map[string]int64{}}
	a.goRun(ctx, "board", func() error { return tail.run(ctx, laps) })
	b := NewBoard(a.cars)
	tower := web.NewTower(web.OrderRace, cfg.Drivers, 0)
	alarms := web.NewAlarms()
	var alarmc chan telemetry.Alarm
	if cfg.Alarms != nil {
		alarmc = make(chan telemetry.Alarm, 64)
		a.goRun(ctx, "board", func() error { return a.alarmTail(ctx, alarmc) })
	}
	var refresh <-chan time.Time
	var lives chan telemetry.Live
	if cfg.Terminal {
		t := time.NewTicker(cfg.Refresh)
		defer t.Stop()
		refresh = t.C
		lives = make(chan telemetry.Live, 256)
		a.goRun(ctx, "board", func() error { return a.liveTail(ctx, lives) })
		a.draw(b, tower, alarms, true)
	}
	for {
		select {
		case <-ctx.Done():
			if cfg.Terminal {
				a.draw(b, tower, alarms, false)
			}
			return nil
		case <-refresh:
			a.draw(b, tower, alarms, false)
		case l := <-lives:
			tower.AddLive(&l)
		case al := <-alarmc:
			if !alarms.Add(&al) || cfg.Terminal {
				continue
			}
			if _, err := fmt.Fprintln(cfg.Stdout, AlarmLine(&al)); err != nil {
				return fmt.Errorf("up: stdout: %w", err)
			}
		case l := <-laps:
			tower.AddLap(&l)
			if !b.Add(&l) {
				continue
			}
			if !cfg.Terminal {
				if _, err := fmt.Fprintln(cfg.Stdout, LapLine(&l)); err != nil {
					return fmt.Errorf("up: stdout: %w", err)
				}
			}
			if a.done(b) {
				if cfg.Terminal {
					a.draw(b, tower, alarms, false)
				}
				return nil
			}
		}
	}
}

// done reports whether every car completed cfg.Laps laps.
func (a *assembly) done(b *Board) bool {
	if a.cfg.Laps == 0 {
		return false
	}
	for _, c := range a.cars {
		if b.Laps(c) < a.cfg.Laps {
			return false
		}
	}
	return true
}

// draw redraws the board in place: cursor home, each line cleared to its
// end, the rest of the screen cleared. The table is the timing tower
// (RenderTower, in colour), with every car known from the start, and
// under it the raised alarms (RenderAlarms).
func (a *assembly) draw(b *Board, tower *web.Tower, alarms *web.Alarms, first bool) {
	var buf bytes.Buffer
	if first {
		buf.WriteString("\x1b[2J")
	}
	buf.WriteString("\x1b[H")
	buf.WriteString(boardHeader(a.cfg.Track, a.cfg.Cars, speedName(a.cfg.Speed), a.brokers[0]))
	buf.WriteString("\n\n")
	for _, c := range a.cars {
		tower.Expect(c) // listed before its first lap
	}
	rows := tower.Rows()
	alarms.Mark(rows)
	_ = RenderTower(&buf, rows, true)
	if len(b.Rows()) > 0 && b.Rows()[0].Laps == 0 {
		buf.WriteString("\nwaiting for the first laps to complete...\n")
	}
	buf.WriteString(alarmLines(alarms.Active(), a.cfg.Drivers))
	out := strings.ReplaceAll(buf.String(), "\n", "\x1b[K\n") + "\x1b[J"
	io.WriteString(a.cfg.Stdout, out)
}

func speedName(s float64) string {
	if s < 0 {
		return "speed max"
	}
	return fmt.Sprintf("speed %gx", s)
}

// lapTiming is the timing lines the processor uses: the track file's
// (checked against the road the simulator drives), or the built-in
// track's.
func lapTiming(cfg Config) (track.Timing, error) {
	return track.TimingFor(cfg.Track, cfg.TrackFile)
}

// dataDir returns dir, or a new temporary directory that remove deletes.
func dataDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("up: data dir: %w", err)
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "pitwall-up-")
	if err != nil {
		return "", nil, fmt.Errorf("up: data dir: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// client connects to the run's brokers for the board (with the run's TLS
// and SASL settings): no topic auto-creation, as the processor creates
// the topics the board reads.
func (a *assembly) client(id string, maxWait time.Duration) (sarama.Client, error) {
	sc := sarama.NewConfig()
	sc.ClientID = id
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	if maxWait > 0 {
		sc.Consumer.MaxWaitTime = maxWait
	}
	if err := a.cfg.Security.Sarama(sc); err != nil {
		return nil, fmt.Errorf("up: board: %w", err)
	}
	client, err := sarama.NewClient(a.brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("up: board: connect %v: %w", a.brokers, err)
	}
	return client, nil
}

// boardHeader is the board's first line, at most 80 columns: the hint
// goes first, then the line is cut (a long track name, a broker address
// with a five-digit port).
func boardHeader(track string, cars int, speed, broker string) string {
	h := fmt.Sprintf("Pitwall  %s  %d cars  %s  broker %s", track, cars, speed, broker)
	if full := h + "  (Ctrl-C to stop)"; utf8.RuneCountInString(full) <= 80 {
		return full
	}
	if r := []rune(h); len(r) > 80 {
		return string(r[:80])
	}
	return h
}

// follow hands fn every record of topic from its oldest, for the board,
// once the processor has created it, until ctx ends.
func (a *assembly) follow(ctx context.Context, id, topic string, fn func(*sarama.ConsumerMessage)) error {
	client, err := a.client(id, 50*time.Millisecond)
	if err != nil {
		return err
	}
	defer client.Close()
	parts, err := waitPartitions(ctx, client, topic)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if err := topicread.Follow(ctx, client, topic, topicread.Config{Partitions: parts}, fn); err != nil {
		return fmt.Errorf("up: board: %w", err)
	}
	return nil
}
