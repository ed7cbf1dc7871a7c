package admin

// Users and ACLs through Kafka's own admin APIs (DescribeUserScramCredentials,
// AlterUserScramCredentials, DescribeAcls, CreateAcls, DeleteAcls), so
// `pitwall users` and `pitwall acls` work against Apache Kafka as against
// Pitwall's broker. These go through franz-go (kmsg requests on a kgo
// client) rather than sarama: sarama's admin drops CreateAcls' per-ACL
// errors and cannot ask for every user's credentials.

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// SecurityClient is a connection for the user and ACL admin APIs.
type SecurityClient struct {
	cl *kgo.Client
}

// DialSecurity connects to brokers with TLS and SASL as sec says (a
// Config kafkasec's Load returned). Nothing is sent until the first call.
func DialSecurity(brokers string, sec kafkasec.Config) (*SecurityClient, error) {
	seeds, err := cli.SplitBrokers(brokers)
	if err != nil {
		return nil, err
	}
	opts, err := sec.KgoOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(seeds...), kgo.ClientID("pitwall-admin"), kgo.DialTimeout(5*time.Second))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", brokers, err)
	}
	return &SecurityClient{cl: cl}, nil
}

// Close closes the connection.
func (c *SecurityClient) Close() { c.cl.Close() }

// request sends req within ConnectTimeout (or until ctx ends).
func request[R kmsg.Response](ctx context.Context, c *SecurityClient, req kmsg.Request) (R, error) {
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	var zero R
	resp, err := c.cl.Request(ctx, req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = ErrNoAnswer
		}
		return zero, err
	}
	return resp.(R), nil
}

// SCRAM mechanisms by Kafka's code.
var scramCodes = map[string]int8{"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}

func scramName(code int8) string {
	for n, c := range scramCodes {
		if c == code {
			return n
		}
	}
	return fmt.Sprintf("UNKNOWN(%d)", code)
}

// ScramIterations is the iteration count SetUser salts with (Kafka's
// default).
const ScramIterations = 4096

// SetUser creates or replaces name's credential for mechanism
// (SCRAM-SHA-256 or SCRAM-SHA-512). The password is salted here (a fresh
// random salt, ScramIterations) and only the salted password is sent.
func (c *SecurityClient) SetUser(ctx context.Context, name, mechanism, password string) error {
	code, ok := scramCodes[mechanism]
	if !ok {
		return fmt.Errorf("mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", mechanism)
	}
	h := func() hash.Hash { return sha256.New() }
	if mechanism == "SCRAM-SHA-512" {
		h = func() hash.Hash { return sha512.New() }
	}
	salt := make([]byte, 32)
	rand.Read(salt)
	salted, err := pbkdf2.Key(h, password, salt, ScramIterations, h().Size())
	if err != nil {
		return err
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = name, code, ScramIterations, salt, salted
	req.Upsertions = append(req.Upsertions, up)
	return c.alterUsers(ctx, req)
}

// DeleteUser removes name's credential for mechanism.
func (c *SecurityClient) DeleteUser(ctx context.Context, name, mechanism string) error {
	code, ok := scramCodes[mechanism]
	if !ok {
		return fmt.Errorf("mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", mechanism)
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	del := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	del.Name, del.Mechanism = name, code
	req.Deletions = append(req.Deletions, del)
	return c.alterUsers(ctx, req)
}

func (c *SecurityClient) alterUsers(ctx context.Context, req *kmsg.AlterUserSCRAMCredentialsRequest) error {
	resp, err := request[*kmsg.AlterUserSCRAMCredentialsResponse](ctx, c, req)
	if err != nil {
		return err
	}
	for _, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return fmt.Errorf("user %s: %w", r.User, err)
		}
	}
	return nil
}

// User is a SCRAM user: its mechanisms and their iteration counts.
type User struct {
	Name        string
	Credentials []UserCredential
}

// UserCredential is one mechanism a user can log in with.
type UserCredential struct {
	Mechanism  string
	Iterations int
}

// ListUsers describes the users named, or every user.
func (c *SecurityClient) ListUsers(ctx context.Context, names ...string) ([]User, error) {
	req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, n := range names {
		u := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		u.Name = n
		req.Users = append(req.Users, u)
	}
	resp, err := request[*kmsg.DescribeUserSCRAMCredentialsResponse](ctx, c, req)
	if err != nil {
		return nil, err
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	var out []User
	for _, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return nil, fmt.Errorf("user %s: %w", r.User, err)
		}
		u := User{Name: r.User}
		for _, ci := range r.CredentialInfos {
			u.Credentials = append(u.Credentials, UserCredential{Mechanism: scramName(ci.Mechanism), Iterations: int(ci.Iterations)})
		}
		sort.Slice(u.Credentials, func(i, j int) bool { return u.Credentials[i].Mechanism < u.Credentials[j].Mechanism })
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// codeErr is a Kafka error code as an error (nil for 0), with the
// broker's message when it sent one.
func codeErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}
