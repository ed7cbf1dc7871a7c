// Package influxtest starts a real InfluxDB 1.8 (influxd) for tests, like
// httptest: on 127.0.0.1 with random ports, data in t.TempDir(), no
// authentication, usage reporting off; stopped when the test ends.
// influxd is looked up on PATH, then in $(go env GOPATH)/bin
// (scripts/install-test-deps.sh installs it there).
package influxtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/internal/freeport"
)

// Server is a running influxd.
type Server struct {
	// URL is the HTTP API, e.g. http://127.0.0.1:38123.
	URL string
	// Database is a database created for the test ("pitwall").
	Database string
	cmd      *exec.Cmd
	done     chan struct{}
	admin    *User // set when authentication is on
}

// Options change what Start sets up.
type Options struct {
	// NoDatabase leaves Database uncreated, as on a fresh install.
	NoDatabase bool
	// Users turns authentication on and creates these users; the first
	// must be an admin (Query runs as it).
	Users []User
	// HTTPPort is the port of the HTTP API on 127.0.0.1. Default 0: a
	// free port. A fixed port (8086, as a user's InfluxDB has) is for
	// tests in a network namespace of their own.
	HTTPPort int
}

// User is an InfluxDB 1.8 user.
type User struct {
	Name, Password string
	Admin          bool
}

// Start starts influxd and creates Database; it fails the test if influxd
// is not installed or does not come up.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with Options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := influxd()
	if err != nil {
		t.Fatalf("influxtest: %v (run scripts/install-test-deps.sh)", err)
	}
	dir := t.TempDir()
	httpPort, rpcPort := opts.HTTPPort, freePort(t)
	if httpPort == 0 {
		httpPort = freePort(t)
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  auth-enabled = %t
  log-enabled = false
  max-body-size = 0
[[graphite]]
  enabled = false
[[udp]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort, len(opts.Users) > 0)
	confPath := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), Database: "pitwall", done: make(chan struct{})}
	s.cmd = exec.Command(bin, "-config", confPath)
	log, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("influxtest: start %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); log.Close(); close(s.done) }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	if err := s.waitReady(); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "influxd.log"))
		t.Fatalf("influxtest: %v; log:\n%s", err, b)
	}
	if err := s.createUsers(opts.Users); err != nil {
		t.Fatalf("influxtest: %v", err)
	}
	if opts.NoDatabase {
		return s
	}
	if _, err := s.Query("CREATE DATABASE " + s.Database); err != nil {
		t.Fatalf("influxtest: %v", err)
	}
	return s
}

// createUsers creates users in order; with authentication on, InfluxDB
// lets the first (admin) user be created without credentials.
func (s *Server) createUsers(users []User) error {
	for i, u := range users {
		q := fmt.Sprintf("CREATE USER %q WITH PASSWORD '%s'", u.Name, u.Password)
		if u.Admin {
			q += " WITH ALL PRIVILEGES"
		}
		if _, err := s.Query(q); err != nil {
			return err
		}
		if i == 0 {
			s.admin = &users[0]
		}
	}
	return nil
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("influxd exited")
		default:
		}
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("influxd did not answer /ping within a minute")
}

// Query runs InfluxQL against Database and returns the JSON response body.
func (s *Server) Query(q string) ([]byte, error) {
	form := url.Values{"q": {q}, "db": {s.Database}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.admin != nil {
		req.SetBasicAuth(s.admin.Name, s.admin.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"error"`) {
		return nil, fmt.Errorf("query %q: %s: %s", q, resp.Status, b)
	}
	return b, nil
}

func influxd() (string, error) {
	if p, err := exec.LookPath("influxd"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			return "", fmt.Errorf("influxd not on PATH and no GOPATH: %w", err)
		}
		gopath = strings.TrimSpace(string(out))
	}
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "influxd")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("influxd not found on PATH or at %s", p)
	}
	return p, nil
}

// freePort is a loopback port for a server the test starts (freeport:
// never one handed out before in this process).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
