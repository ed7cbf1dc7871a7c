package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/xdg-go/scram"
)

// SASL mechanism names, as Kafka spells them.
const (
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
	Plain       = "PLAIN"
)

// Mechanisms are every SASL mechanism the broker can offer.
var Mechanisms = []string{ScramSHA256, ScramSHA512, Plain}

// KnownMechanism says whether m is one of Mechanisms.
func KnownMechanism(m string) bool {
	for _, k := range Mechanisms {
		if k == m {
			return true
		}
	}
	return false
}

// ScramMechanism says whether m is a SCRAM mechanism (one that has
// stored credentials).
func ScramMechanism(m string) bool {
	_, ok := scramHash(m)
	return ok
}

func scramHash(m string) (scram.HashGeneratorFcn, bool) {
	switch m {
	case ScramSHA256:
		return scram.SHA256, true
	case ScramSHA512:
		return scram.SHA512, true
	}
	return nil, false
}

// Errors of a SASL exchange. ErrAuthFailed covers a wrong password and an
// unknown user alike, so a client cannot tell which; ErrBadMessage is a
// message that does not parse.
var (
	ErrAuthFailed = errors.New("auth: authentication failed: invalid credentials")
	ErrBadMessage = errors.New("auth: malformed SASL message")
)

// Session is one SASL exchange on one connection: the server's side of a
// mechanism, stepped with each client message.
type Session interface {
	// Step takes the client's next message and returns the server's
	// answer. done is true once the exchange is over: successfully when
	// err is nil. A failed exchange returns an error wrapping
	// ErrAuthFailed or ErrBadMessage (never naming the password).
	Step(msg []byte) (resp []byte, done bool, err error)
	// User is the authenticated user's name, once Step returned done
	// without error.
	User() string
}

// Authenticator starts SASL sessions against a credential store.
type Authenticator struct {
	users *Users
	// secret keys the made-up credentials of unknown users, so that an
	// exchange for a user who does not exist looks like one with a wrong
	// password (same salt every time, same failure) and user names cannot
	// be probed.
	secret [32]byte
}

// NewAuthenticator checks credentials in users.
func NewAuthenticator(users *Users) *Authenticator {
	a := &Authenticator{users: users}
	rand.Read(a.secret[:])
	return a
}

// Start begins an exchange with mechanism (one of Mechanisms).
func (a *Authenticator) Start(mechanism string) (Session, error) {
	if mechanism == Plain {
		return &plainSession{a: a}, nil
	}
	h, ok := scramHash(mechanism)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownMechanism, mechanism)
	}
	sess := &scramSession{hash: h}
	srv, err := h.NewServer(func(name string) (scram.StoredCredentials, error) {
		c := a.lookup(decodeSASLName(name), mechanism)
		sess.cred = c
		return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(c.Salt), Iters: c.Iterations}, StoredKey: c.StoredKey, ServerKey: c.ServerKey}, nil
	})
	if err != nil {
		return nil, err
	}
	sess.conv = srv.NewConversation()
	return sess, nil
}

// lookup is user's credential, or a made-up one that no proof matches.
func (a *Authenticator) lookup(user, mechanism string) Credential {
	if c, ok := a.users.Lookup(user, mechanism); ok {
		return c
	}
	m := hmac.New(sha256.New, a.secret[:])
	m.Write([]byte(mechanism + "\x00" + user))
	salt := m.Sum(nil)
	key := make([]byte, 64)
	rand.Read(key)
	return Credential{Salt: salt, Iterations: DefaultIterations, StoredKey: key, ServerKey: key}
}

// scramSession is SCRAM-SHA-256/512 (RFC 5802, RFC 7677) through
// github.com/xdg-go/scram, with the messages checked first by
// ParseClientFirst and ParseClientFinal: the library indexes into fields
// it has not checked (an empty gs2 flag, a proof of the wrong length).
//
// One client needs more than the library allows: librdkafka (2.0.2, kcat)
// sends the final nonce as its own nonce followed by the server's whole
// nonce, which already begins with its own. Kafka accepts that (it checks
// only that the final nonce ends with the server's), so this does too,
// verifying the proof as RFC 5802 §3 computes it (verifyProof); every
// other exchange is the library's.
type scramSession struct {
	hash scram.HashGeneratorFcn
	conv *scram.ServerConversation
	step int
	user string
	// What the librdkafka form needs: the credential used, the client's
	// first message without its gs2 header, the server's first message,
	// and both nonces.
	cred                Credential
	clientBare, s1      string
	clientNonce, sNonce string
}

func (s *scramSession) Step(msg []byte) (resp []byte, done bool, err error) {
	s.step++
	switch s.step {
	case 1:
		first, err := ParseClientFirst(string(msg))
		if err != nil {
			return nil, true, err
		}
		out, err := s.conv.Step(string(msg))
		if err != nil {
			return nil, true, fmt.Errorf("%w: %v", ErrBadMessage, err)
		}
		s.user, s.clientNonce, s.clientBare, s.s1 = first.User, first.Nonce, first.Bare, out
		s.sNonce, _ = strings.CutPrefix(strings.SplitN(out, ",", 2)[0], "r=")
		return []byte(out), false, nil
	case 2:
		final, err := ParseClientFinal(string(msg), s.hash().Size())
		if err != nil {
			return nil, true, err
		}
		if final.Nonce == s.clientNonce+s.sNonce {
			out, err := s.verifyProof(final)
			return out, true, err
		}
		out, err := s.conv.Step(string(msg))
		if err != nil || !s.conv.Valid() {
			return nil, true, ErrAuthFailed
		}
		return []byte(out), true, nil
	}
	return nil, true, fmt.Errorf("%w: exchange already over", ErrBadMessage)
}

// verifyProof checks a client-final message's proof against the stored
// keys (RFC 5802 §3: ClientKey = Proof XOR HMAC(StoredKey, AuthMessage)
// must hash to StoredKey) and returns the server-final message.
func (s *scramSession) verifyProof(final ClientFinal) ([]byte, error) {
	if final.Binding != "biws" && final.Binding != "eSws" { // base64 "n,," and "y,,"
		return nil, ErrAuthFailed
	}
	authMsg := []byte(s.clientBare + "," + s.s1 + "," + final.WithoutProof)
	mac := func(key, data []byte) []byte {
		m := hmac.New(s.hash, key)
		m.Write(data)
		return m.Sum(nil)
	}
	sig := mac(s.cred.StoredKey, authMsg)
	clientKey := make([]byte, len(sig))
	for i := range sig {
		clientKey[i] = final.Proof[i] ^ sig[i]
	}
	h := s.hash()
	h.Write(clientKey)
	if !hmac.Equal(h.Sum(nil), s.cred.StoredKey) {
		return nil, ErrAuthFailed
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(mac(s.cred.ServerKey, authMsg))), nil
}

func (s *scramSession) User() string { return s.user }

// ClientFirst is what a SCRAM client-first-message says.
type ClientFirst struct {
	User  string // decoded (=2C and =3D undone)
	Nonce string
	// Bare is the message without its gs2 header (what the AuthMessage
	// begins with).
	Bare string
}

// ParseClientFirst checks a SCRAM client-first-message (RFC 5802 §7):
// "n,," or "y,," (no channel binding), an optional a= equal to the user,
// n=USER, r=NONCE, then any extensions (Kafka's tokenauth=true).
func ParseClientFirst(msg string) (ClientFirst, error) {
	fields := strings.Split(msg, ",")
	if len(fields) < 4 {
		return ClientFirst{}, fmt.Errorf("%w: client-first has %d fields", ErrBadMessage, len(fields))
	}
	if fields[0] != "n" && fields[0] != "y" {
		return ClientFirst{}, fmt.Errorf("%w: gs2 flag %q (channel binding is not supported)", ErrBadMessage, clip(fields[0]))
	}
	user, ok := strings.CutPrefix(fields[2], "n=")
	if !ok || user == "" {
		return ClientFirst{}, fmt.Errorf("%w: no user name", ErrBadMessage)
	}
	user = decodeSASLName(user)
	if fields[1] != "" {
		authz, ok := strings.CutPrefix(fields[1], "a=")
		if !ok || decodeSASLName(authz) != user {
			return ClientFirst{}, fmt.Errorf("%w: authorization id differs from the user", ErrAuthFailed)
		}
	}
	nonce, ok := strings.CutPrefix(fields[3], "r=")
	if !ok || nonce == "" {
		return ClientFirst{}, fmt.Errorf("%w: no nonce", ErrBadMessage)
	}
	return ClientFirst{User: user, Nonce: nonce, Bare: strings.Join(fields[2:], ",")}, nil
}

// ClientFinal is what a SCRAM client-final-message says.
type ClientFinal struct {
	Binding      string // c=, base64
	Nonce        string // r=
	Proof        []byte // p=, decoded
	WithoutProof string // the message up to ",p="
}

// ParseClientFinal checks a SCRAM client-final-message: c=BINDING,
// r=NONCE, any extensions, p=PROOF with a proof of hashSize bytes.
func ParseClientFinal(msg string, hashSize int) (ClientFinal, error) {
	fields := strings.Split(msg, ",")
	if len(fields) < 3 {
		return ClientFinal{}, fmt.Errorf("%w: client-final has %d fields", ErrBadMessage, len(fields))
	}
	binding, ok1 := strings.CutPrefix(fields[0], "c=")
	nonce, ok2 := strings.CutPrefix(fields[1], "r=")
	if !ok1 || !ok2 || nonce == "" {
		return ClientFinal{}, fmt.Errorf("%w: client-final does not start c=,r=", ErrBadMessage)
	}
	if _, err := base64.StdEncoding.DecodeString(binding); err != nil {
		return ClientFinal{}, fmt.Errorf("%w: channel binding is not base64", ErrBadMessage)
	}
	p, ok := strings.CutPrefix(fields[len(fields)-1], "p=")
	if !ok {
		return ClientFinal{}, fmt.Errorf("%w: client-final has no proof", ErrBadMessage)
	}
	proof, err := base64.StdEncoding.DecodeString(p)
	if err != nil || len(proof) != hashSize {
		return ClientFinal{}, fmt.Errorf("%w: proof is not %d base64 bytes", ErrBadMessage, hashSize)
	}
	return ClientFinal{Binding: binding, Nonce: nonce, Proof: proof, WithoutProof: msg[:strings.LastIndex(msg, ",")]}, nil
}

// decodeSASLName undoes RFC 5802's escaping of ',' and '=' in names.
func decodeSASLName(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return strings.NewReplacer("=2C", ",", "=3D", "=").Replace(s)
}

// plainSession is SASL/PLAIN (RFC 4616): one message, the password
// itself, checked against the user's stored SCRAM credential (the
// strongest one it has), so no password is ever stored.
type plainSession struct {
	a    *Authenticator
	user string
	done bool
}

func (s *plainSession) Step(msg []byte) ([]byte, bool, error) {
	if s.done {
		return nil, true, fmt.Errorf("%w: exchange already over", ErrBadMessage)
	}
	s.done = true
	m, err := ParsePlain(msg)
	if err != nil {
		return nil, true, err
	}
	if m.AuthzID != "" && m.AuthzID != m.User {
		return nil, true, ErrAuthFailed
	}
	for _, mech := range []string{ScramSHA512, ScramSHA256} {
		if c, ok := s.a.users.Lookup(m.User, mech); ok {
			if !c.Verify(mech, m.Password) {
				return nil, true, ErrAuthFailed
			}
			s.user = m.User
			return nil, true, nil
		}
	}
	// Unknown user: spend the same work as a known one.
	s.a.lookup(m.User, ScramSHA512).Verify(ScramSHA512, m.Password)
	return nil, true, ErrAuthFailed
}

func (s *plainSession) User() string { return s.user }

// PlainMessage is a SASL/PLAIN message: [authzid] NUL authcid NUL passwd.
type PlainMessage struct {
	AuthzID, User, Password string
}

// ParsePlain splits a SASL/PLAIN message (RFC 4616).
func ParsePlain(msg []byte) (PlainMessage, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return PlainMessage{}, fmt.Errorf("%w: PLAIN message has %d NUL-separated parts, want 3", ErrBadMessage, len(parts))
	}
	if len(parts[1]) == 0 || len(parts[2]) == 0 {
		return PlainMessage{}, fmt.Errorf("%w: PLAIN message with an empty user or password", ErrBadMessage)
	}
	return PlainMessage{AuthzID: string(parts[0]), User: string(parts[1]), Password: string(parts[2])}, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}
