package up

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// pitwall up --influx-url with a password in it, InfluxDB unreachable:
// the laps are timed all the same and the logs (debug level) name the
// InfluxDB without the password.
func TestInfluxPasswordNeverLogged(t *testing.T) {
	const pw = "up-Pl4nted-pw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	var logs, out syncBuffer
	err = Run(context.Background(), Config{DataDir: t.TempDir(), Cars: 1, Track: "brands-indy", Speed: -1, Laps: 1,
		InfluxURL: "http://admin:" + pw + "@" + dead, Stdout: &out,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "car01") || !strings.Contains(logs.String(), "admin") {
		t.Fatalf("no lap, or the logs never name the InfluxDB:\n%s\n%s", out.String(), logs.String())
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(out.String(), pw) {
		t.Errorf("pitwall up printed the InfluxDB password:\n%s\n%s", logs.String(), out.String())
	}
}
