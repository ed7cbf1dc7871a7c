package broker

// The SCRAM users of a data directory no broker is running on, for
// `pitwall users --data-dir` (bootstrapping the first admin before the
// broker starts with SASL and ACLs on). They take the data directory's
// lock, as a broker does, so they refuse a directory a broker is serving.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

// ErrDataDirInUse is returned by the offline functions when a running
// broker holds the data directory: change users through it instead.
var ErrDataDirInUse = errors.New("broker: the data directory is in use by a running broker (use --brokers)")

// UserInfo describes a SCRAM user: its mechanisms and their iteration
// counts, never the credentials.
type UserInfo struct {
	Name        string
	Credentials []UserCredential
}

// UserCredential is one mechanism a user can log in with.
type UserCredential struct {
	Mechanism  string
	Iterations int
}

// SetUserOffline stores a SCRAM credential of name for mechanism
// (SCRAM-SHA-256 or SCRAM-SHA-512), salted from password (only the salted
// keys are stored), in dataDir, which it creates if need be. iterations 0
// means 4096.
func SetUserOffline(dataDir, name, mechanism, password string, iterations int) error {
	return withDataDirLock(dataDir, func() error {
		users, err := auth.OpenUsers(dataDir)
		if err != nil {
			return err
		}
		cred, err := auth.NewCredential(mechanism, password, iterations)
		if err != nil {
			return err
		}
		return users.Set(name, mechanism, cred)
	})
}

// DeleteUserOffline removes name's credential for mechanism from dataDir.
func DeleteUserOffline(dataDir, name, mechanism string) error {
	return withDataDirLock(dataDir, func() error {
		users, err := auth.OpenUsers(dataDir)
		if err != nil {
			return err
		}
		if err := users.Delete(name, mechanism); err != nil {
			return fmt.Errorf("user %s has no %s credential", name, mechanism)
		}
		return nil
	})
}

// ListUsersOffline lists the users of dataDir (those named, or all).
func ListUsersOffline(dataDir string, names ...string) ([]UserInfo, error) {
	var out []UserInfo
	err := withDataDirLock(dataDir, func() error {
		users, err := auth.OpenUsers(dataDir)
		if err != nil {
			return err
		}
		out = userInfos(users.List(names...))
		return nil
	})
	return out, err
}

func userInfos(list []auth.UserInfo) []UserInfo {
	out := make([]UserInfo, 0, len(list))
	for _, u := range list {
		ui := UserInfo{Name: u.Name}
		for _, c := range u.Credentials {
			ui.Credentials = append(ui.Credentials, UserCredential(c))
		}
		out = append(out, ui)
	}
	return out
}

// withDataDirLock runs fn holding dataDir's lock (the one a broker holds
// while it runs).
func withDataDirLock(dataDir string, fn func() error) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("%w: %s", ErrDataDirInUse, dataDir)
	}
	return fn()
}
