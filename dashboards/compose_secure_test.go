package dashboards_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// secureServices are the services of the opt-in profile "secure".
var secureServices = []string{"acls-secure-init", "broker-secure", "edge-secure", "mosquitto-secure", "mosquitto-secure-init",
	"process-secure", "secure-init", "sim-secure"}

// TestComposeSecureProfile loads docker-compose.yml with the profile
// "secure" (compose-go, as docker compose does): its services run only
// with the profile; the broker listens on SASL_SSL only with the ACL
// authorizer; every client speaks TLS with the generated CA and reads its
// password from a file in the secrets volume, so no command line or
// environment holds a secret; the users exist before the broker starts
// and the ACLs before the clients.
func TestComposeSecureProfile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("pitwall"), cli.WithProfiles([]string{"secure"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml --profile secure: %v", err)
	}
	for _, n := range secureServices {
		s, ok := p.Services[n]
		if !ok {
			t.Fatalf("profile secure lacks %s", n)
		}
		if !slices.Equal(s.Profiles, []string{"secure"}) {
			t.Errorf("%s: profiles %v, want only secure (opt-in)", n, s.Profiles)
		}
	}
	args := func(n string) string {
		return strings.Join(append(append([]string{}, p.Services[n].Entrypoint...), p.Services[n].Command...), " ")
	}
	for n, wants := range map[string][]string{
		"broker-secure": {"--listen SASL_SSL://0.0.0.0:9093", "--advertise SASL_SSL://broker-secure:9093", "--tls-cert /secrets/",
			"--tls-key /secrets/", "--authorizer acl", "--super-users User:admin"},
		"edge-secure": {"--brokers broker-secure:9093", "--tls-ca /secrets/ca.pem", "--sasl-mechanism SCRAM-SHA-512", "--sasl-user edge",
			"--sasl-password-file /secrets/edge.password", "--in mqtts://edge@mosquitto-secure:8883/", "?ca=/secrets/ca.pem", "--mqtt-password-file /secrets/"},
		"process-secure": {"--brokers broker-secure:9093", "--tls-ca /secrets/ca.pem", "--sasl-mechanism SCRAM-SHA-256", "--sasl-user processor",
			"--sasl-password-file /secrets/processor.password", "--group pitwall-laps"},
		"sim-secure":            {"--out mqtts://car@mosquitto-secure:8883/", "ca=/secrets/ca.pem", "--mqtt-password-file /secrets/"},
		"mosquitto-secure":      {"-c /secrets/mosquitto.conf"},
		"mosquitto-secure-init": {"mosquitto_passwd -U /secrets/mosquitto.passwd"},
		"secure-init":           {"/scripts/compose-secure-init.sh"},
		"acls-secure-init":      {"/scripts/compose-secure-acls.sh"},
	} {
		for _, w := range wants {
			if !strings.Contains(args(n), w) {
				t.Errorf("%s: command %q lacks %q", n, args(n), w)
			}
		}
	}
	for _, n := range secureServices {
		s := p.Services[n]
		if strings.Contains(args(n), "PASSWORD=") || strings.Contains(args(n), "--sasl-password ") {
			t.Errorf("%s: a password in the command line: %s", n, args(n))
		}
		for k := range s.Environment {
			if strings.Contains(strings.ToUpper(k), "PASSWORD") {
				t.Errorf("%s: a password in the environment (%s): use a file in the secrets volume", n, k)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s: %s mounted from %v", n, v.Target, err)
				}
			}
		}
	}
	after := func(n, dep string, cond string) {
		d, ok := p.Services[n].DependsOn[dep]
		if !ok || d.Condition != cond {
			t.Errorf("%s: depends on %s %+v, want %s", n, dep, d, cond)
		}
	}
	done, started := types.ServiceConditionCompletedSuccessfully, types.ServiceConditionStarted
	after("broker-secure", "secure-init", done)
	after("mosquitto-secure-init", "secure-init", done)
	after("mosquitto-secure", "mosquitto-secure-init", done)
	after("acls-secure-init", "broker-secure", started)
	after("edge-secure", "acls-secure-init", done)
	after("process-secure", "acls-secure-init", done)
	if b := p.Services["secure-init"].Build; b == nil || b.Target != "build" {
		t.Errorf("secure-init: build %+v, want the Dockerfile's build stage (shell, openssl, /out/pitwall)", b)
	}
	if stages := dockerStages(t, filepath.Join(root, "Dockerfile")); stages["build"] == nil || !strings.Contains(stages["build"].runs(), "-o /out/pitwall") {
		t.Error("the Dockerfile's build stage does not build /out/pitwall")
	}
}

// TestComposeSecureScripts runs the secured profile's scripts as its
// containers do, outside docker: secure-init makes the CA, certificates,
// passwords and users in a stopped broker's data dir (a second run
// changes nothing); a real broker started on them with the ACL
// authorizer takes the generated admin over SASL_SSL; acls-secure-init
// gives the edge and the processor their ACLs; the edge's generated
// password logs in and may write telemetry, not read it.
func TestComposeSecureScripts(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	root, _ := filepath.Abs("..")
	bin := filepath.Join(t.TempDir(), "pitwall")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/pitwall").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	secrets, data := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "SECRETS="+secrets, "DATA="+data, "PITWALL="+bin, "CHOWN=0")
	run := func(script string, extra ...string) string {
		t.Helper()
		cmd := exec.Command("sh", filepath.Join(root, "scripts", script))
		cmd.Env = append(env, extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	run("compose-secure-init.sh")
	if out := run("compose-secure-init.sh"); !strings.Contains(out, "already done") {
		t.Errorf("second run: %s", out)
	}
	conf, _ := os.ReadFile(filepath.Join(secrets, "mosquitto.conf"))
	for _, w := range []string{"listener 8883", "cafile /secrets/ca.pem", "allow_anonymous false", "password_file /secrets/mosquitto.passwd"} {
		if !strings.Contains(string(conf), w) {
			t.Errorf("mosquitto.conf lacks %q:\n%s", w, conf)
		}
	}
	b := brokertest.StartConfig(t, broker.Config{Listen: "SASL_SSL://127.0.0.1:0", DataDir: data, Authorizer: "acl", SuperUsers: []string{"User:admin"},
		TLSCertFile: filepath.Join(secrets, "broker-secure.pem"), TLSKeyFile: filepath.Join(secrets, "broker-secure-key.pem")})
	addr := b.Addrs["SASL_SSL"]
	run("compose-secure-acls.sh", "BROKERS="+addr)

	user := func(name, mech string) *sarama.Config {
		pw, err := os.ReadFile(filepath.Join(secrets, name+".password"))
		if err != nil {
			t.Fatal(err)
		}
		sec, err := kafkasec.Config{CAFile: filepath.Join(secrets, "ca.pem"), ServerName: "broker-secure", Mechanism: mech, User: name,
			Password: kafkasec.Secret(strings.TrimSpace(string(pw)))}.Load()
		if err != nil {
			t.Fatal(err)
		}
		sc := sarama.NewConfig()
		if err := sec.Sarama(sc); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	adminClient, err := sarama.NewClusterAdmin([]string{addr}, user("admin", kafkasec.ScramSHA512))
	if err != nil {
		t.Fatalf("the generated admin over SASL_SSL: %v", err)
	}
	defer adminClient.Close()
	acls, err := adminClient.ListAcls(sarama.AclFilter{ResourceType: sarama.AclResourceAny, ResourcePatternTypeFilter: sarama.AclPatternAny,
		Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ra := range acls {
		for _, a := range ra.Acls {
			got = append(got, a.Principal+" "+ra.ResourceName)
		}
	}
	for _, w := range []string{"User:edge telemetry", "User:processor telemetry", "User:processor pitwall-laps", "User:processor telemetry.laps"} {
		if !slices.Contains(got, w) {
			t.Errorf("ACLs %v lack %q", got, w)
		}
	}
	if err := adminClient.CreateTopic("telemetry", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	edgeCfg := user("edge", kafkasec.ScramSHA512)
	edgeCfg.Producer.Return.Successes = true
	prod, err := sarama.NewSyncProducer([]string{addr}, edgeCfg)
	if err != nil {
		t.Fatalf("edge over SASL_SSL: %v", err)
	}
	defer prod.Close()
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "telemetry", Value: sarama.StringEncoder("frame")}); err != nil {
		t.Errorf("edge may not write telemetry: %v", err)
	}
	consCfg := user("edge", kafkasec.ScramSHA512)
	consCfg.Consumer.Return.Errors = true
	cons, err := sarama.NewConsumer([]string{addr}, consCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition("telemetry", 0, sarama.OffsetOldest)
	if err == nil { // the refusal comes with the first fetch
		select {
		case m := <-pc.Messages():
			t.Errorf("edge read telemetry offset %d", m.Offset)
		case cerr := <-pc.Errors():
			err = cerr
		case <-time.After(30 * time.Second):
			t.Error("edge's fetch of telemetry neither refused nor answered in 30s")
		}
		pc.Close()
	}
	if err != nil && !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("edge reading telemetry: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
}
