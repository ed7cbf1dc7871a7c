// Package mqtttest runs a real Mosquitto broker for tests, on a free
// loopback port with everything in a temp dir, in the style of httptest:
// plain, or over TLS (a certificate from a testca.CA) with a password file
// (made by mosquitto_passwd, so nothing here hashes passwords itself).
//
//	mq := mqtttest.Start(t, mqtttest.Options{})                                   // mqtt://mq.Addr
//	mq := mqtttest.Start(t, mqtttest.Options{CA: ca, Users: map[string]string{"edge": pw}}) // mqtts://, logins required
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/internal/freeport"
	"github.com/pitwall/pitwall/internal/testca"
)

// Options configures a Mosquitto. The zero value is a plain listener that
// lets anyone in.
type Options struct {
	// CA, when set, makes the listener TLS-only with a certificate for
	// 127.0.0.1 and localhost that CA signs. Default: plain TCP.
	CA *testca.CA
	// Users, when set, are the only logins accepted (name → password),
	// through a password file; anonymous clients are refused.
	Users map[string]string
	// RequireCertificate makes clients show a certificate CA signed.
	RequireCertificate bool
}

// Server is a running Mosquitto.
type Server struct {
	// Addr is HOST:PORT.
	Addr string

	mu   sync.Mutex
	logs bytes.Buffer
}

// Logs returns what Mosquitto wrote so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// Start runs Mosquitto until the test ends, and returns once it listens.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := lookPath(t, "mosquitto")
	dir := t.TempDir()
	port := freePort(t)
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"persistence false", "max_queued_messages 0", "max_inflight_messages 1000",
		"log_dest stderr",
	}
	if os.Geteuid() == 0 {
		// As root Mosquitto drops to the mosquitto user after reading its
		// config, and could then not read the password file in our
		// private temp dir.
		conf = append(conf, "user root")
	}
	if o.CA != nil {
		srv := o.CA.Issue(t, "mosquitto", "127.0.0.1", "localhost")
		conf = append(conf, "cafile "+o.CA.CertFile, "certfile "+srv.CertFile, "keyfile "+srv.KeyFile)
		if o.RequireCertificate {
			conf = append(conf, "require_certificate true")
		}
	}
	if len(o.Users) > 0 {
		conf = append(conf, "allow_anonymous false", "password_file "+passwordFile(t, dir, o.Users))
	} else {
		conf = append(conf, "allow_anonymous true")
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	cmd := exec.Command(bin, "-c", path)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatalf("mosquitto: %v (run make deps)", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.Dial("tcp", s.Addr)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("mosquitto exited: %s", s.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not listen on %s: %s", s.Addr, s.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// passwordFile writes users as "name:password" lines and has
// mosquitto_passwd -U hash them in place (no password on its command line).
func passwordFile(t testing.TB, dir string, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	for name, pw := range users {
		fmt.Fprintf(&b, "%s:%s\n", name, pw)
	}
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lookPath(t, "mosquitto_passwd"), "-U", path).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd -U: %v: %s", err, out)
	}
	return path
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not installed: run make deps (scripts/install-test-deps.sh)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

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
