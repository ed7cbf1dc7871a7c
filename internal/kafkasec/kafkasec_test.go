package kafkasec

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/testca"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	c.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return c.Load()
}

func TestLoadRefusesBadSettingsInOneLine(t *testing.T) {
	ca := testca.New(t)
	pair := ca.Issue(t, "edge")
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\nsecond line\n"), 0o600)
	t.Setenv(PasswordEnv, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sasl-mechanism", "GSSAPI", "--sasl-user", "u"}, `--sasl-mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{[]string{"--sasl-mechanism", "SCRAM-SHA-256"}, "needs --sasl-user"},
		{[]string{"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "edge"}, "needs a password: set $PITWALL_SASL_PASSWORD or --sasl-password-file"},
		{[]string{"--sasl-mechanism", "PLAIN", "--sasl-user", "edge", "--sasl-password-file", "/nonexistent/pw"}, "--sasl-password-file: open /nonexistent/pw"},
		{[]string{"--sasl-mechanism", "PLAIN", "--sasl-user", "edge", "--sasl-password-file", empty}, "the first line is empty"},
		{[]string{"--sasl-user", "edge"}, "without --sasl-mechanism"},
		{[]string{"--tls-ca", "/nonexistent/ca.pem"}, "--tls-ca: open /nonexistent/ca.pem"},
		{[]string{"--tls-ca", junk}, "no PEM certificate in it"},
		{[]string{"--tls-cert", pair.CertFile}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", pair.CertFile, "--tls-key", pair.CertFile}, "client certificate"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
			t.Errorf("%q: error %v, want one with %q", tc.args, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error on more than one line: %q", tc.args, err)
		}
	}
}

func TestPasswordFromEnvOrFileNeverPrinted(t *testing.T) {
	const pw = "pl4nted-s3cret"
	t.Setenv(PasswordEnv, pw)
	c, err := parse(t, "--sasl-mechanism", "scram-sha-512", "--sasl-user", "edge")
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Password) != pw || c.Mechanism != ScramSHA512 {
		t.Fatalf("password %q mechanism %q, want the env's and SCRAM-SHA-512", string(c.Password), c.Mechanism)
	}
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("from-file\r\n"), 0o600)
	c2, err := parse(t, "--sasl-mechanism", "PLAIN", "--sasl-user", "edge", "--sasl-password-file", file)
	if err != nil {
		t.Fatal(err)
	}
	if string(c2.Password) != "from-file" {
		t.Fatalf("password %q, want the file's first line (the file wins over $%s)", string(c2.Password), PasswordEnv)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "security", c, "pw", c.Password)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "security", c, "cfg", struct{ S Config }{c})
	printed := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Password) + logs.String()
	if strings.Contains(printed, pw) {
		t.Fatalf("the password is printed: %s", printed)
	}
	if !strings.Contains(logs.String(), "protocol=SASL_PLAINTEXT mechanism=SCRAM-SHA-512 user=edge") && !strings.Contains(logs.String(), "security.protocol=SASL_PLAINTEXT") {
		t.Errorf("logs do not show protocol, mechanism and user: %s", logs.String())
	}
}

func TestSaramaConfig(t *testing.T) {
	ca := testca.New(t)
	pair := ca.Issue(t, "edge")
	t.Setenv(PasswordEnv, "pw")
	for _, tc := range []struct {
		args      []string
		protocol  string
		mechanism sarama.SASLMechanism
		certs     int
	}{
		{nil, "PLAINTEXT", "", 0},
		{[]string{"--tls"}, "SSL", "", 0},
		{[]string{"--tls-ca", ca.CertFile, "--tls-cert", pair.CertFile, "--tls-key", pair.KeyFile}, "SSL", "", 1},
		{[]string{"--sasl-mechanism", "PLAIN", "--sasl-user", "u"}, "SASL_PLAINTEXT", sarama.SASLTypePlaintext, 0},
		{[]string{"--tls-ca", ca.CertFile, "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "u"}, "SASL_SSL", sarama.SASLTypeSCRAMSHA256, 0},
		{[]string{"--tls", "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "u"}, "SASL_SSL", sarama.SASLTypeSCRAMSHA512, 0},
	} {
		c, err := parse(t, tc.args...)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if c.Protocol() != tc.protocol {
			t.Errorf("%q: protocol %s, want %s", tc.args, c.Protocol(), tc.protocol)
		}
		sc := sarama.NewConfig()
		if err := c.Sarama(sc); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("%q: sarama refuses the config: %v", tc.args, err)
		}
		tlsOn := strings.HasSuffix(tc.protocol, "SSL")
		if sc.Net.TLS.Enable != tlsOn || sc.Net.SASL.Enable != (tc.mechanism != "") || sc.Net.SASL.Mechanism != tc.mechanism && tc.mechanism != "" {
			t.Errorf("%q: TLS %v SASL %v %s", tc.args, sc.Net.TLS.Enable, sc.Net.SASL.Enable, sc.Net.SASL.Mechanism)
		}
		if tlsOn && len(sc.Net.TLS.Config.Certificates) != tc.certs {
			t.Errorf("%q: %d client certificates, want %d", tc.args, len(sc.Net.TLS.Config.Certificates), tc.certs)
		}
		if tc.mechanism != "" && (sc.Net.SASL.User != "u" || sc.Net.SASL.Password != "pw" || sc.Net.SASL.Version != sarama.SASLHandshakeV1) {
			t.Errorf("%q: SASL user %q version %d", tc.args, sc.Net.SASL.User, sc.Net.SASL.Version)
		}
		if strings.HasPrefix(string(tc.mechanism), "SCRAM") {
			s := sc.Net.SASL.SCRAMClientGeneratorFunc()
			if err := s.Begin("u", "pw", ""); err != nil {
				t.Fatal(err)
			}
			first, err := s.Step("")
			if err != nil || !strings.HasPrefix(first, "n,,n=u,r=") || s.Done() {
				t.Errorf("%q: SCRAM client-first %q, %v", tc.args, first, err)
			}
		}
		opts, err := c.KgoOpts()
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if tlsOn {
			want++
		}
		if tc.mechanism != "" {
			want++
		}
		if len(opts) != want {
			t.Errorf("%q: %d franz-go options, want %d", tc.args, len(opts), want)
		}
	}
}

func TestMerge(t *testing.T) {
	file := Config{CAFile: "file-ca", Mechanism: ScramSHA256, User: "edge"}
	got := file.Merge(Config{User: "flag-user", TLS: true})
	if got.CAFile != "file-ca" || got.User != "flag-user" || !got.TLS || got.Mechanism != ScramSHA256 {
		t.Fatalf("merge: %+v", got)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mqtt://edge:pl4nted@127.0.0.1:1883/cars/+/telemetry":         "mqtt://edge@127.0.0.1:1883/cars/+/telemetry",
		"mqtts://edge:pl4nted@127.0.0.1:8883/cars/+/t?ca=/tmp/ca.pem": "mqtts://edge@127.0.0.1:8883/cars/+/t?ca=/tmp/ca.pem",
		"mqtt://edge@127.0.0.1:1883/cars/+/telemetry":                 "mqtt://edge@127.0.0.1:1883/cars/+/telemetry",
		"http://admin:pl4nted@127.0.0.1:8086":                         "http://admin@127.0.0.1:8086",
		"http://127.0.0.1:8086?token=pl4nted&db=x":                    "http://127.0.0.1:8086?token=redacted&db=x",
		"mqtt://a:b:pl4nted@h:1/cars/#":                               "mqtt://a@h:1/cars/#",
		"mqtt://a@b:pl4nted@h:1/x":                                    "mqtt://a@b@h:1/x",
		"kafka://127.0.0.1:9092/telemetry":                            "kafka://127.0.0.1:9092/telemetry",
		"serial:/dev/ttyUSB0?baud=115200&car=7":                       "serial:/dev/ttyUSB0?baud=115200&car=7",
		"slcan:/dev/pts/3?bitrate=500000&dbc=a.dbc":                   "slcan:/dev/pts/3?bitrate=500000&dbc=a.dbc",
		"mqtt://://edge:pl4nted@127.0.0.1:1/x":                        "mqtt://://edge@127.0.0.1:1/x",
		"socketcan:can0":                                              "socketcan:can0",
		"mqtt://edge:pl%zz@host/x":                                    "mqtt://edge@host/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
