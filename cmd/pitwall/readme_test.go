package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/pitwall/pitwall/processors/influx/influxtest"
)

// TestREADME follows README.md's by-hand sections as a new user would,
// running each of their commands as written (bash -c LINE, in a directory
// holding a fresh bin/pitwall) and checking what each one should do:
//
//   - "The whole pipeline by hand": broker, simulator on a pty, edge,
//     lap processor, kcat on telemetry.laps, groups describe;
//   - "Topics and groups": list, describe, create, delete, groups;
//   - the re-timing block below it: --print-track, then a second group
//     with a track file writing to InfluxDB;
//   - "Reading the laps": pitwall laps, --follow, --output csv.
//
// The one change made to a line is the user's own: the edge's example pty
// path (/dev/pts/3) becomes the one the simulator printed. The commands
// use the README's fixed ports (127.0.0.1:9092, 9464, 8086), so the test
// runs them in a network namespace of its own (unshare -rn, where only its
// loopback exists) and cannot collide with anything else on the machine.
// InfluxDB on 127.0.0.1:8086 stands for the user's own. Where the machine
// refuses a namespace, the ports are moved instead, and only they: every
// "127.0.0.1:9092" and "127.0.0.1:8086" in a line becomes a free port,
// and the two fixed ports no line names, the broker's --listen and the
// edge's --metrics, come from PITWALL_LISTEN and PITWALL_METRICS (port 0),
// as every flag can. Long-running
// commands run in the background and get Ctrl-C (SIGINT) at the end, and
// must then exit cleanly. A README edit that changes the commands fails
// the test until the steps below are updated to match.
func TestREADME(t *testing.T) {
	if dir := os.Getenv("PITWALL_README_DIR"); dir != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v %s", err, out)
		}
		followREADME(t, dir, readmePorts{broker: "127.0.0.1:9092", influx: 8086})
		return
	}
	for _, tool := range []string{"kcat", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (run scripts/install-test-deps.sh)", tool, err)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "pitwall"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command("unshare", "-rn", "true").CombinedOutput(); err != nil || os.Getenv("PITWALL_README_NO_NETNS") != "" {
		t.Logf("no private network namespace (unshare -rn: %v %s): moving the README's ports instead", err, bytes.TrimSpace(out))
		followREADME(t, dir, readmePorts{broker: fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)), influx: freeTCPPort(t),
			env: []string{"PITWALL_METRICS=127.0.0.1:0"}})
		return
	}
	cmd := exec.Command("unshare", "-rn", os.Args[0], "-test.run=^TestREADME$", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), "PITWALL_README_DIR="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("in the namespace:\n%s", out)
	if err != nil {
		t.Fatalf("following the README failed: %v", err)
	}
}

// readmeStep is what one README line must be and do.
type readmeStep struct {
	prefix string // the line starts so
	// bg: runs until stopped at the end; ready is then waited for on its
	// output. Otherwise the line is run (again, until ready or the
	// deadline) and must exit 0.
	bg    bool
	ready func(out string) bool
	// then runs once ready, with the line's output.
	then func(t *testing.T, out string)
}

// readmePorts are where the README's fixed ports are: themselves in a
// namespace of the test's own, free ports otherwise.
type readmePorts struct {
	broker string // 127.0.0.1:9092
	influx int    // 8086
	env    []string
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func followREADME(t *testing.T, dir string, ports readmePorts) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.NewReplacer("127.0.0.1:9092", ports.broker, "127.0.0.1:8086", fmt.Sprintf("127.0.0.1:%d", ports.influx))
	sh := &readmeShell{t: t, dir: dir, move: moved.Replace,
		env: append(os.Environ(), append(ports.env, "PITWALL_LISTEN="+ports.broker)...)}
	defer sh.stop()
	has := func(subs ...string) func(string) bool {
		return func(out string) bool {
			for _, s := range subs {
				if !strings.Contains(out, s) {
					return false
				}
			}
			return true
		}
	}
	ptyRE := regexp.MustCompile(`/dev/pts/\d+`)
	var pty string

	sh.follow(sectionBlock(t, readme, "### The whole pipeline by hand", 0), []readmeStep{
		{prefix: "bin/pitwall broker ", bg: true, ready: has(`msg="broker ready" listen=` + ports.broker)},
		{prefix: "bin/pitwall sim --pty ", bg: true, ready: ptyRE.MatchString,
			then: func(t *testing.T, out string) { pty = ptyRE.FindString(out) }},
		{prefix: "bin/pitwall edge ", bg: true, ready: has("edge: connected to the brokers")},
		{prefix: "bin/pitwall process ", bg: true, ready: has("processors: lap")},
		{prefix: "kcat ", bg: true, ready: regexp.MustCompile(`car0[1-3] lap record at offset \d+`).MatchString},
		{prefix: "bin/pitwall groups describe pitwall-laps ", ready: has("state: Stable", "members: 1", "IN-LAP", "\ntelemetry ")},
	}, func(line string) string {
		if strings.HasPrefix(line, "bin/pitwall edge ") {
			if !strings.Contains(line, "/dev/pts/3") {
				t.Fatalf("the edge's line no longer names the example pty /dev/pts/3: %s", line)
			}
			return strings.Replace(line, "/dev/pts/3", pty, 1)
		}
		return line
	})

	sh.follow(sectionBlock(t, readme, "### Topics and groups", 0), []readmeStep{
		{prefix: "bin/pitwall topics list ", ready: has("telemetry ", "telemetry.channels", "telemetry.laps")},
		{prefix: "bin/pitwall topics describe telemetry ", ready: has("telemetry")},
		{prefix: "bin/pitwall topics create practice ", ready: has("")},
		{prefix: "bin/pitwall topics delete practice ", ready: has("")},
		{prefix: "bin/pitwall groups list ", ready: has("pitwall-laps", "Stable")},
		{prefix: "bin/pitwall groups describe pitwall-laps ", ready: has("LAG", "IN-LAP")},
	}, nil)

	influx := influxtest.StartWith(t, influxtest.Options{NoDatabase: true, HTTPPort: ports.influx})
	sh.follow(sectionBlock(t, readme, "### The whole pipeline by hand", 1), []readmeStep{
		{prefix: "bin/pitwall process --track monza --print-track > monza.yaml", ready: func(string) bool {
			b, err := os.ReadFile(filepath.Join(dir, "monza.yaml"))
			return err == nil && bytes.Contains(b, []byte("# Pitwall track file")) && bytes.Contains(b, []byte("\nname: monza"))
		}},
		{prefix: "bin/pitwall process --brokers 127.0.0.1:9092 --track-file monza.yaml --group pitwall-laps-v2 ", bg: true,
			ready: has("processors: lap")},
	}, nil)
	waitUntil(t, "laps in InfluxDB's pitwall_v2", func() (bool, string) {
		b, err := influx.Query(`SELECT count("lap_time") FROM "pitwall_v2"."autogen"."lap"`)
		return err == nil && bytes.Contains(b, []byte(`"count"`)), fmt.Sprint(string(b), err)
	})

	sh.follow(sectionBlock(t, readme, "### Reading the laps", 0), []readmeStep{
		{prefix: "bin/pitwall laps --brokers 127.0.0.1:9092 --group pitwall-laps ", ready: regexp.MustCompile(`pitwall-laps +car0[1-3] `).MatchString},
		{prefix: "bin/pitwall laps --brokers 127.0.0.1:9092 --group pitwall-laps --car car01 --follow", bg: true,
			ready: regexp.MustCompile(`pitwall-laps +car01 `).MatchString},
		{prefix: "bin/pitwall laps --brokers 127.0.0.1:9092 --group pitwall-laps-v2 --output csv > laps-v2.csv", ready: func(string) bool {
			b, err := os.ReadFile(filepath.Join(dir, "laps-v2.csv"))
			return err == nil && regexp.MustCompile(`\npitwall-laps-v2,car0[1-3],`).Match(b)
		}},
	}, nil)
}

// sectionBlock returns the n-th ```sh block under heading (before the
// next heading of any level), its lines with continuations joined.
func sectionBlock(t *testing.T, readme []byte, heading string, n int) []string {
	t.Helper()
	text := string(readme)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	text = text[i+len(heading)+2:]
	if j := regexp.MustCompile(`(?m)^#+ `).FindStringIndex(text); j != nil {
		text = text[:j[0]]
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(text, -1)
	if len(blocks) <= n {
		t.Fatalf("README section %q has %d sh blocks, want block %d", heading, len(blocks), n+1)
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(blocks[n][1], "\\\n", " "), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// readmeShell runs README lines in dir.
type readmeShell struct {
	t    *testing.T
	dir  string
	move func(string) string // the ports' move (identity in a namespace)
	env  []string
	bg   []*bgLine
}

type bgLine struct {
	line string
	cmd  *exec.Cmd
	tty  *os.File // the terminal's master side
	out  syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer is a bytes.Buffer written by a command and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// follow runs a README block's lines, which must match steps one for one
// (edit, if set, is the user's change to a line).
func (sh *readmeShell) follow(lines []string, steps []readmeStep, edit func(string) string) {
	t := sh.t
	t.Helper()
	if len(lines) != len(steps) {
		t.Fatalf("the README block has %d commands, the test knows %d: update TestREADME\n%s", len(lines), len(steps), strings.Join(lines, "\n"))
	}
	for i, st := range steps {
		line := lines[i]
		if !strings.HasPrefix(line, st.prefix) {
			t.Fatalf("README command %d is %q, the test expects one starting %q: update TestREADME", i+1, line, st.prefix)
		}
		if edit != nil {
			line = edit(line)
		}
		line = sh.move(line)
		var out string
		if st.bg {
			b := sh.start(line)
			waitUntil(t, line, func() (bool, string) {
				out = b.out.String()
				select {
				case <-b.done:
					t.Fatalf("%s exited: %v\n%s", line, b.err, out)
				default:
				}
				return st.ready(out), out
			})
		} else {
			waitUntil(t, line, func() (bool, string) {
				cmd := exec.Command("bash", "-c", line)
				cmd.Dir, cmd.Env = sh.dir, sh.env
				b, err := cmd.CombinedOutput()
				out = string(b)
				return err == nil && st.ready(out), fmt.Sprintf("%v\n%s", err, out)
			})
		}
		t.Logf("$ %s\n%s", line, tail(out, 2000))
		if st.then != nil {
			st.then(t, out)
		}
	}
}

// start runs line in the background in a terminal of its own (a pty, as
// the README's "six terminals"; kcat, for one, writes its lines only at
// exit to anything else), its output kept.
func (sh *readmeShell) start(line string) *bgLine {
	b := &bgLine{line: line, done: make(chan struct{})}
	b.cmd = exec.Command("bash", "-c", "exec "+line)
	b.cmd.Dir, b.cmd.Env = sh.dir, sh.env
	tty, err := pty.StartWithSize(b.cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		sh.t.Fatalf("%s: %v", line, err)
	}
	b.tty = tty
	copied := make(chan struct{})
	go func() { io.Copy(&b.out, tty); close(copied) }() // ends with EIO once the command exits
	go func() { b.err = b.cmd.Wait(); <-copied; tty.Close(); close(b.done) }()
	sh.bg = append(sh.bg, b)
	return b
}

// stop types Ctrl-C in the background commands' terminals, newest
// first (the broker last), and expects each pitwall command to exit 0
// within a minute.
func (sh *readmeShell) stop() {
	for i := len(sh.bg) - 1; i >= 0; i-- {
		b := sh.bg[i]
		select {
		case <-b.done:
		default:
			if _, err := b.tty.Write([]byte{3}); err != nil { // ^C: the terminal sends SIGINT
				b.cmd.Process.Signal(syscall.SIGINT)
			}
		}
		select {
		case <-b.done:
		case <-time.After(time.Minute):
			b.cmd.Process.Kill()
			<-b.done
			sh.t.Errorf("%s did not stop within a minute of Ctrl-C\n%s", b.line, tail(b.out.String(), 2000))
			continue
		}
		if b.err != nil && strings.HasPrefix(b.line, "bin/pitwall ") {
			sh.t.Errorf("%s: Ctrl-C gave %v\n%s", b.line, b.err, tail(b.out.String(), 2000))
		}
	}
}

// waitUntil polls cond every 200 ms for up to three minutes; last is
// what to show if it never holds.
func waitUntil(t *testing.T, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after 3 minutes; last:\n%s", what, tail(last, 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
