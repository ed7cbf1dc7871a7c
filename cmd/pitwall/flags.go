package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
)

// newFlagSet returns a flag set for a subcommand that reports errors to
// the caller instead of exiting. parseFlags prints its usage for -h only:
// a bad flag is one line from main, not the usage and the error twice.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("pitwall "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: pitwall %s %s\n\nflags (each also settable as PITWALL_<FLAG>, e.g. --data-dir as PITWALL_DATA_DIR):\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args after filling every flag not given on the command
// line from its PITWALL_* environment variable, so containers can be
// configured without a command line. Flags given explicitly win.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	err := fs.Parse(args)
	fs.SetOutput(os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Stderr.Write(usage.Bytes())
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (run '%s -h' for the flags)", err, fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PITWALL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if !ok || set[f.Name] {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	})
	warnSecretFlags(fs, os.Stderr) // secrets.go
	return errors.Join(errs...)
}

// newLogger returns a text logger on stderr at the named level.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// listenTCP listens on addr.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// atLeast1 refuses a count flag below 1: the libraries read 0 as "the
// default", which would run 4 cars for --cars 0 without a word.
func atLeast1(flagName string, v int) error {
	if v < 1 {
		return fmt.Errorf("--%s %d: want 1 or more", flagName, v)
	}
	return nil
}
