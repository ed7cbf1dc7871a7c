package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// startBrokerProcess runs `pitwall broker` with args and returns the
// listeners it logged as ready (PROTOCOL → address) and its stderr so
// far, kept growing in the background.
func startBrokerProcess(t *testing.T, bin string, args ...string) (*exec.Cmd, map[string]string, *lockedLines) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"broker"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := regexp.MustCompile(`msg="broker ready" listen=(\S+)`)
	sc := bufio.NewScanner(stderr)
	lines := &lockedLines{}
	addrs := map[string]string{}
	for len(addrs) == 0 && sc.Scan() {
		lines.add(sc.Text())
		if m := ready.FindStringSubmatch(sc.Text()); m != nil {
			for _, ep := range strings.Split(m[1], ",") {
				proto, addr, ok := strings.Cut(ep, "://")
				if !ok {
					proto, addr = "PLAINTEXT", ep
				}
				addrs[proto] = addr
			}
		}
	}
	if len(addrs) == 0 {
		t.Fatalf("broker never logged that it was ready:\n%s", lines)
	}
	go func() {
		for sc.Scan() {
			lines.add(sc.Text())
		}
	}()
	return cmd, addrs, lines
}

// TestBrokerTLSReloadOnSIGHUP: `pitwall broker` with an SSL listener
// reloads its certificate on SIGHUP (and keeps running): new connections
// get the new certificate, a client connected before keeps producing.
func TestBrokerTLSReloadOnSIGHUP(t *testing.T) {
	bin := buildPitwall(t)
	ca := brokertest.NewCA(t)
	cert, key := ca.Issue(t, "localhost")
	cmd, addrs, lines := startBrokerProcess(t, bin, "--listen", "SSL://127.0.0.1:0,127.0.0.1:0", "--data-dir", t.TempDir(),
		"--tls-cert", cert, "--tls-key", key)
	addr := addrs["SSL"]
	if addr == "" || addrs["PLAINTEXT"] == "" {
		t.Fatalf("listeners %v", addrs)
	}
	tlsCfg := ca.ClientTLS(t, "")
	serial := func() string {
		c, err := tls.Dial("tcp", addr, tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(tlsCfg), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("cars"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	newCert, newKey := ca.Issue(t, "localhost")
	for from, to := range map[string]string{newCert: cert, newKey: key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for serial() == before {
		if time.Now().After(deadline) {
			t.Fatalf("certificate unchanged a minute after SIGHUP:\n%s", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("the connection made before SIGHUP: %v", err)
	}
	if !strings.Contains(lines.String(), "tls certificate reloaded") {
		t.Errorf("reload not logged:\n%s", lines)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pitwall broker after SIGTERM: %v (want exit 0)", err)
	}
}

// TestBrokerClientCAReloadOnSIGHUP: `pitwall broker --tls-client-ca`
// refuses a client certificate from a CA the file does not hold; once the
// file holds that CA too and the broker gets SIGHUP, the client is served.
func TestBrokerClientCAReloadOnSIGHUP(t *testing.T) {
	bin := buildPitwall(t)
	ca, other := brokertest.NewCA(t), brokertest.NewCA(t)
	cert, key := ca.Issue(t, "localhost")
	caFile := t.TempDir() + "/client-ca.pem"
	first, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, first, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, addrs, lines := startBrokerProcess(t, bin, "--listen", "SSL://127.0.0.1:0", "--data-dir", t.TempDir(),
		"--tls-cert", cert, "--tls-key", key, "--tls-client-ca", caFile)
	client := other.ClientTLS(t, "edge")
	client.RootCAs = ca.Pool
	served := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs["SSL"]), kgo.DialTLSConfig(client), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		return cl.Ping(ctx)
	}
	if served() == nil {
		t.Fatal("a certificate from a CA not in --tls-client-ca was served")
	}
	second, err := os.ReadFile(other.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, append(first, second...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for served() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the new CA's client still refused a minute after SIGHUP:\n%s", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(lines.String(), "tls client CAs reloaded") {
		t.Errorf("reload not logged:\n%s", lines)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pitwall broker after SIGTERM: %v (want exit 0)", err)
	}
}

// lockedLines collects a process's output lines.
type lockedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
