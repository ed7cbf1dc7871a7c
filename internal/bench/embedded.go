package bench

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pitwall/pitwall/broker"
)

// startEmbedded starts a Pitwall broker in this process on 127.0.0.1:0, in
// cfg.DataDir or a fresh temporary directory that stop removes again. With
// cfg.Security SSL or SASL_SSL it listens with that protocol too (TLS
// material from a throwaway CA, and for SASL_SSL a SCRAM user created
// through its PLAINTEXT listener), and the workload runs on that listener.
func startEmbedded(ctx context.Context, cfg Config) (*target, error) {
	dir, cleanup := cfg.DataDir, func() error { return nil }
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pitwall-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: data dir: %w", err)
		}
		dir, cleanup = tmp, func() error { return os.RemoveAll(tmp) }
	}
	bc := broker.Config{
		Listen:     "127.0.0.1:0",
		DataDir:    dir,
		Fsync:      cfg.Fsync,
		Partitions: cfg.Partitions,
		Logger:     cfg.Logger,
	}
	var sec *embeddedSecurity
	if secured := cfg.Security != SecurityPlaintext; secured {
		tlsDir, err := os.MkdirTemp("", "pitwall-bench-tls-")
		if err != nil {
			return nil, errors.Join(fmt.Errorf("bench: TLS dir: %w", err), cleanup())
		}
		dataCleanup := cleanup
		cleanup = func() error { return errors.Join(dataCleanup(), os.RemoveAll(tlsDir)) }
		if sec, err = newEmbeddedSecurity(cfg, tlsDir); err != nil {
			return nil, errors.Join(err, cleanup())
		}
		bc.Listen, bc.TLSCertFile, bc.TLSKeyFile = sec.listen, sec.certFile, sec.keyFile
	}
	srv, err := broker.New(bc)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: start embedded broker: %w", err), cleanup())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.WithoutCancel(ctx)) }()
	stop := func() error {
		cerr := srv.Close()
		serr := <-done
		return errors.Join(cerr, serr, cleanup())
	}
	t := &target{name: targetName(cfg.Security), seeds: []string{srv.Addr()}, stop: stop}
	if sec == nil {
		return t, nil
	}
	t.seeds = []string{srv.ListenerAddr(cfg.Security)}
	if err := sec.addUser(srv.ListenerAddr(SecurityPlaintext)); err != nil {
		return nil, errors.Join(err, stop())
	}
	if t.opts, err = sec.kgoOpts(); err != nil {
		return nil, errors.Join(err, stop())
	}
	return t, nil
}
