package processors_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/internal/mqtttest"
	"github.com/pitwall/pitwall/internal/testca"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// securePipeline is the secured paddock: Mosquitto over TLS with
// a password file, a broker with only a SASL_SSL listener, the ACL
// authorizer and least-privilege users.
type securePipeline struct {
	broker *brokertest.Broker
	mq     *mqtttest.Server
	mqCA   *testca.CA
	admin  kafkasec.Config // User:admin, a super user
}

const (
	adminPW = "admin-Pl4nted-pw"
	edgePW  = "edge-Pl4nted-pw"
	procPW  = "proc-Pl4nted-pw"
	carPW   = "car-Pl4nted-mqtt"
	edgeMQ  = "edge-Pl4nted-mqtt"
	group   = "secure-laps"
)

func startSecurePipeline(t *testing.T) *securePipeline {
	t.Helper()
	p := &securePipeline{mqCA: testca.New(t)}
	p.mq = mqtttest.Start(t, mqtttest.Options{CA: p.mqCA, Users: map[string]string{"car": carPW, "edge": edgeMQ}})
	p.broker = brokertest.StartSecure(t, brokertest.Secure{Protocols: []string{"SASL_SSL"},
		Users:      map[string]string{"admin": adminPW, "edge": edgePW, "processor": procPW},
		Authorizer: true, SuperUsers: []string{"User:admin"}})
	p.admin = p.sec(t, "admin", adminPW, kafkasec.ScramSHA512)
	p.grantLeastPrivilege(t)
	return p
}

// sec is the client settings of user on the SASL_SSL listener.
func (p *securePipeline) sec(t *testing.T, user, pw, mechanism string) kafkasec.Config {
	t.Helper()
	c, err := kafkasec.Config{CAFile: p.broker.CA.File, Mechanism: mechanism, User: user, Password: kafkasec.Secret(pw)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *securePipeline) addr() string { return p.broker.Addrs["SASL_SSL"] }

func (p *securePipeline) sarama(t *testing.T, sec kafkasec.Config) *sarama.Config {
	t.Helper()
	sc := sarama.NewConfig()
	if err := sec.Sarama(sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// grantLeastPrivilege creates the topics as the admin, then lets the edge
// write telemetry* and the processor read telemetry*, read its group and
// write what it produces (laps, and dead letters and live records should
// there be any) — nothing else.
func (p *securePipeline) grantLeastPrivilege(t *testing.T) {
	t.Helper()
	client, err := sarama.NewClient([]string{p.addr()}, p.sarama(t, p.admin))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var specs []telemetry.TopicSpec
	for _, name := range []string{telemetry.TopicFrames, telemetry.TopicChannels, telemetry.TopicLaps, telemetry.TopicDeadLetter, telemetry.TopicLive} {
		s, _ := telemetry.Topic(name)
		specs = append(specs, s)
	}
	if err := admin.EnsureTopics(client, specs...); err != nil {
		t.Fatal(err)
	}
	ca, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	allow := func(user string, op sarama.AclOperation, typ sarama.AclResourceType, name string, pattern sarama.AclResourcePatternType) *sarama.ResourceAcls {
		return &sarama.ResourceAcls{
			Resource: sarama.Resource{ResourceType: typ, ResourceName: name, ResourcePatternType: pattern},
			Acls:     []*sarama.Acl{{Principal: "User:" + user, Host: "*", Operation: op, PermissionType: sarama.AclPermissionAllow}},
		}
	}
	topic, grp := sarama.AclResourceTopic, sarama.AclResourceGroup
	lit, pre := sarama.AclPatternLiteral, sarama.AclPatternPrefixed
	if err := ca.CreateACLs([]*sarama.ResourceAcls{
		allow("edge", sarama.AclOperationWrite, topic, telemetry.TopicFrames, pre),
		allow("processor", sarama.AclOperationRead, topic, telemetry.TopicFrames, pre),
		allow("processor", sarama.AclOperationRead, grp, group, lit),
		allow("processor", sarama.AclOperationWrite, topic, telemetry.TopicLaps, lit),
		allow("processor", sarama.AclOperationWrite, topic, telemetry.TopicDeadLetter, lit),
		allow("processor", sarama.AclOperationWrite, topic, telemetry.TopicLive, lit),
	}); err != nil {
		t.Fatalf("create ACLs: %v", err)
	}
}

// The whole pipeline, secured: simulator → Mosquitto over TLS with a
// password file → edge (mqtts://, SCRAM-SHA-512 to the broker, may only
// write telemetry*) → broker (SASL_SSL only, ACL authorizer) → two
// processors (SCRAM-SHA-256, may read telemetry* and their group, write
// telemetry.laps): every lap of the truth, once. The MQTT password, given
// in the edge's URL, is in none of the edge's logs.
func TestSecurePipelineLapsEqualTruth(t *testing.T) {
	t.Parallel() // own broker, Mosquitto, edge
	p := startSecurePipeline(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	in := "mqtts://edge:" + edgeMQ + "@" + p.mq.Addr + "/pw/+/#?ca=" + p.mqCA.CertFile
	logs := &syncBuffer{}
	e, err := edge.New(edge.Config{
		Brokers: []string{p.addr()}, Security: p.sec(t, "edge", edgePW, kafkasec.ScramSHA512), Inputs: []string{in},
		Spool: edge.SpoolConfig{Dir: t.TempDir()}, Metrics: "127.0.0.1:0", StatusEvery: 50 * time.Millisecond, Logger: logs.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	edgeDone := make(chan error, 1)
	go func() { edgeDone <- e.Run(ctx) }()
	waitEdgeSource(t, e.MetricsAddr(), "mqtts://edge@"+p.mq.Addr+"/pw/+/#")

	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	if err := simulator.Run(ctx, simulator.Config{
		Track: testTrack, Cars: 2, Laps: testLaps + 1, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "mqtts://car:" + carPW + "@" + p.mq.Addr + "/pw?qos=1&ca=" + p.mqCA.CertFile, Truth: truthPath,
	}); err != nil {
		t.Fatal(err)
	}
	truth := lapsUpTo(readTruth(t, truthPath), testLaps)
	t.Logf("simulated %d laps", len(truth))

	cfg := config(t, p.addr(), group, nil)
	cfg.Security = p.sec(t, "processor", procPW, kafkasec.ScramSHA256)
	startProcessor(t, cfg)
	startProcessor(t, cfg)
	codec := telemetry.MustNewCodec()
	read := func() []telemetry.Lap {
		return lapsUpTo(readAllLapsWith(t, p.addr(), p.sarama(t, p.admin), codec, group), testLaps)
	}
	got := read()
	for deadline := time.Now().Add(2 * time.Minute); len(got) < len(truth) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		got = read()
	}
	t.Logf("timed %d laps", len(got))
	checkTruth(t, got, truth)
	cancel()
	if err := <-edgeDone; err != nil {
		t.Errorf("edge: %v", err)
	}
	if strings.Contains(logs.String(), edgeMQ) {
		t.Errorf("the edge logged its MQTT password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "mqtts://edge@") {
		t.Errorf("the edge's status lines do not name its source:\n%s", logs.String())
	}
}

// syncBuffer is a log destination a test reads while others write.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logger logs everything, debug included, to s.
func (s *syncBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
