package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/xdg-go/scram"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// SecurityDir is the directory under the broker's data directory that
// holds users.json and acls.json. Neither file exists until a user or an
// ACL is added, so a broker that never used them keeps its old layout.
const SecurityDir = "security"

// Default and limits of SCRAM iterations (Kafka's: 4096 by default, at
// least 4096, at most 16384).
const (
	DefaultIterations = 4096
	MinIterations     = 4096
	MaxIterations     = 16384
)

// Credential is one user's salted SCRAM credential for one mechanism
// (RFC 5802): never the password, only what verifies a proof of it.
type Credential struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

// Errors of the credential store.
var (
	ErrUnknownMechanism = errors.New("auth: unknown SASL mechanism")
	ErrIterations       = fmt.Errorf("auth: iterations must be between %d and %d", MinIterations, MaxIterations)
	ErrNoCredential     = errors.New("auth: no such credential")
	ErrEmptyUser        = errors.New("auth: empty user name")
)

// NewCredential salts password for mechanism (SCRAM-SHA-256 or -512) with
// a fresh random salt.
func NewCredential(mechanism, password string, iterations int) (Credential, error) {
	h, ok := scramHash(mechanism)
	if !ok {
		return Credential{}, fmt.Errorf("%w: %q", ErrUnknownMechanism, mechanism)
	}
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Credential{}, ErrIterations
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return Credential{}, err
	}
	client, err := h.NewClient("", password, "")
	if err != nil {
		return Credential{}, fmt.Errorf("auth: password: %w", err)
	}
	sc := client.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	return Credential{Salt: salt, Iterations: iterations, StoredKey: sc.StoredKey, ServerKey: sc.ServerKey}, nil
}

// CredentialFromSalted is the credential of a salted password a client
// computed itself (AlterUserScramCredentials sends SaltedPassword =
// Hi(password, salt, iterations), RFC 5802), so the password never
// crosses the network. The keys are derived as RFC 5802 §3 says.
func CredentialFromSalted(mechanism string, salt, saltedPassword []byte, iterations int) (Credential, error) {
	h, ok := scramHash(mechanism)
	if !ok {
		return Credential{}, fmt.Errorf("%w: %q", ErrUnknownMechanism, mechanism)
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Credential{}, ErrIterations
	}
	if len(salt) == 0 || len(saltedPassword) == 0 {
		return Credential{}, errors.New("auth: empty salt or salted password")
	}
	mac := func(key []byte, s string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	clientKey := mac(saltedPassword, "Client Key")
	sum := h()
	sum.Write(clientKey)
	return Credential{Salt: salt, Iterations: iterations, StoredKey: sum.Sum(nil), ServerKey: mac(saltedPassword, "Server Key")}, nil
}

// Verify says whether password matches c (for SASL/PLAIN, which sends the
// password itself): it salts password as c was salted and compares the
// stored keys in constant time.
func (c Credential) Verify(mechanism, password string) bool {
	h, ok := scramHash(mechanism)
	if !ok {
		return false
	}
	client, err := h.NewClient("", password, "")
	if err != nil {
		return false
	}
	sc := client.GetStoredCredentials(scram.KeyFactors{Salt: string(c.Salt), Iters: c.Iterations})
	return hmac.Equal(sc.StoredKey, c.StoredKey)
}

// UserInfo is what may be said of a user: the mechanisms and iterations of
// its credentials, never the credentials.
type UserInfo struct {
	Name        string
	Credentials []CredentialInfo
}

// CredentialInfo names one credential of a user.
type CredentialInfo struct {
	Mechanism  string
	Iterations int
}

// Users is the SCRAM credential store: users.json under SecurityDir,
// rewritten whole (durable, mode 0600) on every change. Its methods are
// safe for concurrent use.
type Users struct {
	path string
	mu   sync.Mutex
	m    map[string]map[string]Credential // user → mechanism → credential
}

// OpenUsers reads DIR/security/users.json, if it exists.
func OpenUsers(dataDir string) (*Users, error) {
	u := &Users{path: filepath.Join(dataDir, SecurityDir, "users.json"), m: map[string]map[string]Credential{}}
	if err := readJSON(u.path, &u.m); err != nil {
		return nil, err
	}
	return u, nil
}

// Lookup returns user's credential for mechanism.
func (u *Users) Lookup(user, mechanism string) (Credential, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.m[user][mechanism]
	return c, ok
}

// Set stores user's credential for mechanism, replacing any.
func (u *Users) Set(user, mechanism string, c Credential) error {
	if user == "" {
		return ErrEmptyUser
	}
	if _, ok := scramHash(mechanism); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownMechanism, mechanism)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	next := u.copyLocked()
	if next[user] == nil {
		next[user] = map[string]Credential{}
	}
	next[user][mechanism] = c
	return u.saveLocked(next)
}

// Delete removes user's credential for mechanism; ErrNoCredential if it
// has none.
func (u *Users) Delete(user, mechanism string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.m[user][mechanism]; !ok {
		return ErrNoCredential
	}
	next := u.copyLocked()
	delete(next[user], mechanism)
	if len(next[user]) == 0 {
		delete(next, user)
	}
	return u.saveLocked(next)
}

// List describes every user (or those named), sorted by name.
func (u *Users) List(names ...string) []UserInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []UserInfo
	for name, creds := range u.m {
		if len(want) > 0 && !want[name] {
			continue
		}
		ui := UserInfo{Name: name}
		for mech, c := range creds {
			ui.Credentials = append(ui.Credentials, CredentialInfo{Mechanism: mech, Iterations: c.Iterations})
		}
		sort.Slice(ui.Credentials, func(i, j int) bool { return ui.Credentials[i].Mechanism < ui.Credentials[j].Mechanism })
		out = append(out, ui)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (u *Users) copyLocked() map[string]map[string]Credential {
	next := make(map[string]map[string]Credential, len(u.m))
	for user, creds := range u.m {
		next[user] = make(map[string]Credential, len(creds))
		for m, c := range creds {
			next[user][m] = c
		}
	}
	return next
}

// saveLocked writes next and, once it is durable, makes it current: a
// failed write changes nothing.
func (u *Users) saveLocked(next map[string]map[string]Credential) error {
	if err := writeJSON(u.path, next); err != nil {
		return err
	}
	u.m = next
	return nil
}

// readJSON decodes path into v; a missing file leaves v as it is.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("auth: %s is corrupt: %w", path, err)
	}
	return nil
}

// writeJSON replaces path with v's JSON as durable.WriteFile does, but
// readable by the owner only: the file holds credentials.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	tmp := path + durable.TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return durable.SyncDir(filepath.Dir(dir))
}
