package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A secret given as a flag value shows in ps: pitwall warns once, on
// stderr, naming the flag and what to use instead but never the value —
// for --influx-token and for a password in an --in or --out URL. The same
// values from the environment or a file draw no warning.
func TestSecretFlagsWarned(t *testing.T) {
	const planted = "Pl4nted-s3cret"
	bin := buildPitwall(t)
	for _, tc := range []struct {
		name string
		args []string
		env  string // PITWALL_ variable set instead
		want string // "" for no warning
	}{
		{"influx-token flag", []string{"process", "--influx-token", planted, "--print-track"}, "",
			"pitwall process: warning: --influx-token on the command line shows to every user of this machine (ps); use --influx-token-file FILE or $PITWALL_INFLUX_TOKEN"},
		{"influx-token env", []string{"process", "--print-track"}, "PITWALL_INFLUX_TOKEN=" + planted, ""},
		{"sim mqtt url", []string{"sim", "--out", "mqtt://pit:" + planted + "@127.0.0.1:1/cars", "--list-tracks"}, "",
			"pitwall sim: warning: a password in --out's URL on the command line shows to every user of this machine (ps); use $PITWALL_MQTT_PASSWORD"},
		{"sim mqtt url without password", []string{"sim", "--out", "mqtt://pit@127.0.0.1:1/cars", "--list-tracks"}, "PITWALL_MQTT_PASSWORD=" + planted, ""},
		{"edge mqtt url", []string{"edge", "--in", "mqtts://pit:" + planted + "@127.0.0.1:1/cars/+/t", "stray"}, "",
			"pitwall edge: warning: a password in --in's URL on the command line shows to every user of this machine (ps); use $PITWALL_MQTT_PASSWORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = os.Environ()
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.Run() // edge exits 2 on the stray argument, after the warning
			got := stderr.String()
			if strings.Contains(got, planted) {
				t.Fatalf("the secret is on stderr:\n%s", got)
			}
			if tc.want == "" {
				if strings.Contains(got, "warning") {
					t.Fatalf("warned:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) || strings.Count(got, "warning:") != 1 {
				t.Fatalf("stderr:\n%s\nwant one warning: %s", got, tc.want)
			}
		})
	}
}

// --influx-token-file's first line is the token, over --influx-token and
// $PITWALL_INFLUX_TOKEN; an empty or missing file is an error.
func TestInfluxTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("admin:from-file\r\nsecond line\n"), 0o600)
	t.Setenv("PITWALL_INFLUX_TOKEN", "from-env")
	cfg, _, err := upConfig([]string{"--influx-url", "http://127.0.0.1:8086", "--influx-token-file", file})
	if err != nil || cfg.InfluxToken != "admin:from-file" {
		t.Fatalf("up --influx-token-file: token %q, %v", cfg.InfluxToken, err)
	}
	if cfg, _, err = upConfig([]string{"--influx-url", "http://127.0.0.1:8086"}); err != nil || cfg.InfluxToken != "from-env" {
		t.Fatalf("up with $PITWALL_INFLUX_TOKEN: token %q, %v", cfg.InfluxToken, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, f := range []string{empty, filepath.Join(dir, "missing")} {
		if _, _, err := upConfig([]string{"--influx-token-file", f}); err == nil || !strings.Contains(err.Error(), "--influx-token-file") {
			t.Errorf("--influx-token-file %s: %v", f, err)
		}
	}
}
