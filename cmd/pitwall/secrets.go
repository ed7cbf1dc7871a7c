package main

// Secrets on the command line. Every user of the machine can read a
// process's arguments (ps, /proc/PID/cmdline), so each flag that may carry
// a secret has a file or environment twin; given on the command line it
// still works, but parseFlags warns, once per flag, naming the flag and
// never its value.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pitwall/pitwall/internal/kafkasec"
)

// secretFlags are the flags that may carry a secret, with where the
// secret should come from instead. URL flags (--in, --out, --influx-url)
// count only when a URL holds a password.
var secretFlags = map[string]string{
	"influx-token": "--influx-token-file FILE or $PITWALL_INFLUX_TOKEN",
	"influx-url":   "--influx-token-file FILE or $PITWALL_INFLUX_TOKEN (user:password on InfluxDB 1.8)",
	"in":           "$PITWALL_MQTT_PASSWORD or --mqtt-password-file FILE (user in the URL or --mqtt-user)",
	"out":          "$PITWALL_MQTT_PASSWORD or --mqtt-password-file FILE (user in the URL)",
}

// warnSecretFlags writes to w a warning for each secret-bearing flag given
// on fs's command line (not those filled from PITWALL_* variables).
func warnSecretFlags(fs *flag.FlagSet, w io.Writer) {
	fs.Visit(func(f *flag.Flag) {
		instead, ok := secretFlags[f.Name]
		if !ok {
			return
		}
		v := f.Value.String()
		if f.Name == "influx-token" && v == "" || f.Name != "influx-token" && kafkasec.Redact(v) == v {
			return
		}
		what := "--" + f.Name
		if f.Name != "influx-token" {
			what = "a password in --" + f.Name + "'s URL"
		}
		fmt.Fprintf(w, "%s: warning: %s on the command line shows to every user of this machine (ps); use %s\n", fs.Name(), what, instead)
	})
}

// influxTokenFlags adds --influx-token and --influx-token-file to fs; the
// function returned gives the token once fs is parsed.
func influxTokenFlags(fs *flag.FlagSet) func() (string, error) {
	token := fs.String("influx-token", "", "InfluxDB token (1.8: user:password); shows in ps: prefer --influx-token-file or $PITWALL_INFLUX_TOKEN")
	file := fs.String("influx-token-file", "", "`FILE` holding the InfluxDB token (first line); wins over --influx-token and $PITWALL_INFLUX_TOKEN")
	return func() (string, error) { return influxToken(*token, *file) }
}

// influxToken is the first line of file when one is named, else token.
func influxToken(token, file string) (string, error) {
	if file == "" {
		return token, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--influx-token-file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSuffix(line, "\r"); line == "" {
		return "", errEmptyTokenFile
	}
	return line, nil
}

var errEmptyTokenFile = errors.New("--influx-token-file: the first line is empty")
