package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const password = "pl4nted-Secret"

func newUsers(t testing.TB) (*Users, string) {
	t.Helper()
	dir := t.TempDir()
	u, err := OpenUsers(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		c, err := NewCredential(mech, password, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Set("edge", mech, c); err != nil {
			t.Fatal(err)
		}
	}
	return u, dir
}

// exchange runs a SCRAM exchange between xdg-go/scram's client and a
// session, returning the session's error.
func exchange(t *testing.T, a *Authenticator, mech, user, pass string) error {
	t.Helper()
	h, _ := scramHash(mech)
	client, err := h.NewClient(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	sess, err := a.Start(mech)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := conv.Step("")
	for {
		out, done, err := sess.Step([]byte(msg))
		if err != nil {
			return err
		}
		if done {
			if _, err := conv.Step(string(out)); err != nil {
				t.Fatalf("the client refused the server's final message: %v", err)
			}
			if !conv.Valid() || sess.User() != user {
				t.Fatalf("done but client valid=%v, user %q", conv.Valid(), sess.User())
			}
			return nil
		}
		if msg, err = conv.Step(string(out)); err != nil {
			t.Fatalf("client: %v", err)
		}
	}
}

// TestSCRAM: the right password logs in with both mechanisms; a wrong
// one and an unknown user fail alike.
func TestSCRAM(t *testing.T) {
	users, _ := newUsers(t)
	a := NewAuthenticator(users)
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		if err := exchange(t, a, mech, "edge", password); err != nil {
			t.Errorf("%s right password: %v", mech, err)
		}
		if err := exchange(t, a, mech, "edge", "wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s wrong password: %v, want ErrAuthFailed", mech, err)
		}
		if err := exchange(t, a, mech, "nobody", password); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s unknown user: %v, want ErrAuthFailed", mech, err)
		}
	}
}

// TestSCRAMLibrdkafkaNonce: librdkafka's final nonce (its own nonce, then
// the server's whole nonce) is accepted with the right proof, as Kafka
// accepts it, and refused with a wrong one.
func TestSCRAMLibrdkafkaNonce(t *testing.T) {
	users, _ := newUsers(t)
	a := NewAuthenticator(users)
	for _, pass := range []string{password, "wrong"} {
		sess, _ := a.Start(ScramSHA256)
		const cnonce = "rOprNGfwEbeRWgbNEkqO"
		first := "n,,n=edge,r=" + cnonce
		s1, _, err := sess.Step([]byte(first))
		if err != nil {
			t.Fatal(err)
		}
		sf := strings.Split(string(s1), ",")
		snonce := strings.TrimPrefix(sf[0], "r=")
		cred, _ := users.Lookup("edge", ScramSHA256)
		final := librdkafkaFinal(t, pass, cred, "n=edge,r="+cnonce, string(s1), cnonce+snonce)
		_, done, err := sess.Step([]byte(final))
		if pass == password && (err != nil || !done) {
			t.Errorf("librdkafka-form final with the right password: %v", err)
		}
		if pass != password && !errors.Is(err, ErrAuthFailed) {
			t.Errorf("librdkafka-form final with a wrong password: %v", err)
		}
	}
}

// TestPlain: PLAIN checks the password against the SCRAM credential.
func TestPlain(t *testing.T) {
	users, _ := newUsers(t)
	a := NewAuthenticator(users)
	for _, tc := range []struct {
		msg  string
		want error
	}{
		{"\x00edge\x00" + password, nil},
		{"edge\x00edge\x00" + password, nil},
		{"\x00edge\x00wrong", ErrAuthFailed},
		{"\x00nobody\x00" + password, ErrAuthFailed},
		{"admin\x00edge\x00" + password, ErrAuthFailed},
		{"edge" + password, ErrBadMessage},
	} {
		sess, _ := a.Start(Plain)
		_, done, err := sess.Step([]byte(tc.msg))
		if !done || !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("%q: done %v, %v, want %v", tc.msg, done, err, tc.want)
		}
	}
}

// TestUsersFile: the store keeps salted keys only (no password), in a
// file only its owner may read, and a reopened store has the same users.
func TestUsersFile(t *testing.T) {
	_, dir := newUsers(t)
	path := filepath.Join(dir, SecurityDir, "users.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), password) {
		t.Fatal("users.json holds the password")
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("users.json mode %v, want 0600", fi.Mode().Perm())
	}
	u, err := OpenUsers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.List(); len(got) != 1 || got[0].Name != "edge" || len(got[0].Credentials) != 2 {
		t.Fatalf("reopened: %+v", got)
	}
	if err := u.Delete("edge", ScramSHA256); err != nil {
		t.Fatal(err)
	}
	if err := u.Delete("edge", ScramSHA256); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("deleting twice: %v", err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenUsers(dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("a corrupt users.json: %v", err)
	}
}

// TestCredentialFromSalted: a credential from the salted password a
// client sends equals the one salted here from the password.
func TestCredentialFromSalted(t *testing.T) {
	c, _ := NewCredential(ScramSHA512, password, 4096)
	salted := saltedPassword(t, ScramSHA512, password, c.Salt, 4096)
	d, err := CredentialFromSalted(ScramSHA512, c.Salt, salted, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.StoredKey) != string(c.StoredKey) || string(d.ServerKey) != string(c.ServerKey) {
		t.Fatal("keys differ")
	}
	if !d.Verify(ScramSHA512, password) || d.Verify(ScramSHA512, "wrong") {
		t.Fatal("Verify")
	}
	if _, err := CredentialFromSalted(ScramSHA512, c.Salt, salted, 10); !errors.Is(err, ErrIterations) {
		t.Fatalf("10 iterations: %v", err)
	}
}
