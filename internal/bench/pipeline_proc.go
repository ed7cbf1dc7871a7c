package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one process of the pipeline run: a stage (`pitwall broker`,
// `pitwall edge`, a stage process) or a server the run needs (influxd,
// mosquitto). Its output goes to NAME.log in the run's directory; a stage
// process's stdout is read as the stage protocol (pipeline_stage.go).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // cmd.Wait's, once done is closed

	// stage processes only
	stdin  io.WriteCloser
	ready  chan struct{}
	mu     sync.Mutex
	last   stageProgress
	result *stageResult
}

// runDir returns the directory a run's child processes keep their data
// and logs in: dir, created if missing, or with dir empty a new temporary
// directory pitwall-bench-NAME-*. remove deletes a temporary one and
// leaves a given one.
func runDir(dir, name string) (path string, remove func(), err error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("bench: data dir: %w", err)
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "pitwall-bench-"+name+"-")
	if err != nil {
		return "", nil, fmt.Errorf("bench: data dir: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// startProc starts bin with args. With stage set, stdout is the stage
// protocol; else it goes to the log with stderr.
func startProc(name, dir, bin string, args []string, stage bool) (*proc, error) {
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{}), ready: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = logf
	var stdout io.ReadCloser
	if stage {
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			logf.Close()
			return nil, err
		}
		if stdout, err = p.cmd.StdoutPipe(); err != nil {
			logf.Close()
			return nil, err
		}
	} else {
		p.cmd.Stdout = logf
	}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	var reading sync.WaitGroup
	if stage {
		reading.Add(1)
		go func() { defer reading.Done(); p.read(stdout) }()
	}
	go func() {
		reading.Wait() // Wait closes stdout: read it to the end first
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// read parses the stage protocol until stdout closes.
func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		kind, body, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "READY":
			close(p.ready)
		case "P":
			var pr stageProgress
			if json.Unmarshal([]byte(body), &pr) == nil {
				p.mu.Lock()
				p.last = pr
				p.mu.Unlock()
			}
		case "R":
			var res stageResult
			if json.Unmarshal([]byte(body), &res) == nil {
				p.mu.Lock()
				p.result, p.last = &res, res.stageProgress
				p.mu.Unlock()
			}
		}
	}
}

func (p *proc) progress() stageProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// failure describes an exited process with the end of its log.
func (p *proc) failure() error {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Errorf("bench: %s exited (%v); its log ends:\n%s", p.name, p.err, b)
}

// waitReady waits for a stage process's READY line.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return p.failure()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return fmt.Errorf("bench: %s not ready in %v", p.name, timeout)
	}
}

// finish closes a stage process's stdin and waits for its result.
func (p *proc) finish(timeout time.Duration) (*stageResult, error) {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("bench: %s gave no result in %v", p.name, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.result == nil {
		return nil, p.failure()
	}
	return p.result, nil
}

// stop sends SIGTERM and waits up to timeout, then kills.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("bench: %s did not stop in %v", p.name, timeout)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// usage is a process's CPU time and memory at one moment.
type usage struct {
	ticks int64
	rss   int64
	hwm   int64       // peak RSS
	waits threadWaits // read by snapshot only
}

func usageOf(pid int) usage {
	var u usage
	u.ticks, _ = cpuTicks(pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u
	}
	for _, line := range strings.Split(string(b), "\n") {
		for key, dst := range map[string]*int64{"VmRSS:": &u.rss, "VmHWM:": &u.hwm} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				*dst = kb << 10
			}
		}
	}
	return u
}

// metrics is one scrape of a Prometheus text page: series → value.
type metrics map[string]float64

func scrape(ctx context.Context, addr string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// sum adds every series of the metric name (any labels).
func (m metrics) sum(name string) float64 {
	var t float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			t += v
		}
	}
	return t
}

// count is how many series of name have value v.
func (m metrics) count(name string, v float64) int {
	n := 0
	for k, x := range m {
		if strings.HasPrefix(k, name+"{") && x == v {
			n++
		}
	}
	return n
}

// promLatency turns a Prometheus histogram (seconds) into a Latency:
// quantiles interpolated within buckets as histogram_quantile does, and
// the max as the upper bound of the highest bucket used.
func (m metrics) promLatency(name, what, note string) Latency {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err == nil {
			bs = append(bs, bucket{le, v})
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	l := Latency{What: what, Note: note}
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return l
	}
	total := bs[len(bs)-1].n
	l.Count = uint64(total)
	q := func(q float64) float64 {
		rank := q * total
		lo, prev := 0.0, 0.0
		for _, b := range bs {
			if b.n >= rank {
				if math.IsInf(b.le, 1) {
					return lo * 1000
				}
				return (lo + (b.le-lo)*(rank-prev)/math.Max(b.n-prev, 1)) * 1000
			}
			lo, prev = b.le, b.n
		}
		return lo * 1000
	}
	l.P50Ms, l.P99Ms = q(.5), q(.99)
	for _, b := range bs {
		if b.n >= total {
			l.MaxMs = b.le * 1000
			if math.IsInf(b.le, 1) {
				l.MaxMs = bs[len(bs)-2].le * 1000
			}
			break
		}
	}
	return l
}
