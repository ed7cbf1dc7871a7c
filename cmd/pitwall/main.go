// Command pitwall is Pitwall's single binary: the broker, the edge agent, the
// simulator, the processors and their tools, one subcommand each. Each
// subcommand lives in its own file as run<Name>(ctx, args) error; main only
// dispatches and turns SIGINT, SIGTERM and SIGHUP (the terminal closed, an
// ssh session dropped) into context cancellation, so every command cleans
// up the same way whichever ended it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/pitwall/pitwall/internal/gcfloor"
)

// command is one subcommand: its one-line summary and its entry point.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"broker":  {"run the Kafka-compatible commit-log broker", runBroker},
		"topics":  {"list, create, describe or delete topics (works against any Kafka)", runTopics},
		"users":   {"add, delete or list SCRAM users (offline with --data-dir, to create the first admin; works against any Kafka)", runUsers},
		"acls":    {"add, list or delete ACLs, as kafka-acls.sh names them (works against any Kafka)", runAcls},
		"groups":  {"list or describe consumer groups: members, offsets, lag (works against any Kafka)", runGroups},
		"bench":   {"benchmarks: produce/consume beside franz-go's kfake (or a cluster beside one broker), partitions, the whole pipeline (pipeline), the page (web), leader failover (failover)", runBench},
		"sim":     {"simulate cars on a track and emit their sensor data", runSim},
		"process": {"run the lap processor: consumer group on telemetry, laps to InfluxDB and telemetry.laps", runProcess},
		"track":   {"derive a track file from a recorded session (pitwall track derive LOG.csv)", runTrack},
		"import":  {"import recorded logs (RaceChrono, TrackAddict, AiM, CSV) as a car's frames: pitwall import FILE... --car ID", runImport},
		"laps":    {"print the laps on telemetry.laps (one group's timing with --group): sectors, validity, the device's own time", runLaps},
		"edge":    {"run the edge agent: serial, SLCAN and MQTT in, Kafka out", runEdge},
		"up":      {"run everything on one laptop: broker, simulator, edge over a pty, lap processor, live timing board", runUp},
		"web":     {"serve the pit wall page: live timing tower and track map from the log", runWeb},
		"export":  {"write a car's lap or session as a CSV file MoTeC i2 or RaceChrono imports", runExport},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Println("pitwall", versionString())
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "pitwall: unknown command %q\n\n", args[0])
		usage(cmds)
		return 2
	}
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
	if args[0] == "broker" {
		sigs = sigs[:2] // the broker reloads its TLS certificate on SIGHUP (broker.go)
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	if service(args) {
		defer gcfloor.Start(gcfloor.DefaultFloor)()
	}
	if err := cmd.run(ctx, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "pitwall %s: %s\n", args[0], errorLine(args[0], err))
		return 1
	}
	return 0
}

// service reports whether args run one of Pitwall's long-running
// services (or a `bench pipeline` stage standing for one): those keep a
// heap goal of at least gcfloor.DefaultFloor, so a small live heap under
// a grid's load is not collected many times a second. The tools and the
// benchmarks' load generators keep the runtime's (and GOGC's) defaults.
func service(args []string) bool {
	switch args[0] {
	case "broker", "edge", "process", "up", "web":
		return true
	case "bench":
		return len(args) > 1 && args[1] == "pipeline" && slices.ContainsFunc(args[2:], func(a string) bool {
			return a == "--stage" || a == "-stage" || strings.HasPrefix(a, "--stage=") || strings.HasPrefix(a, "-stage=")
		})
	}
	return false
}

func usage(cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: pitwall <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'pitwall <command> -h' for a command's flags, 'pitwall --version' for the build.")
}

// errorLine is err as one line without stutter: sentinels carry their
// package's name ("up: bad config"), so a wrapped error repeats what the
// "pitwall up:" in front of it and the layer above already said.
func errorLine(cmd string, err error) string {
	parts := strings.Split(strings.ReplaceAll(err.Error(), "\n", "; "), ": ")
	out := parts[:0]
	for i, p := range parts {
		if i == 0 && p == cmd || len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}

// version is set at build time by the Makefile (-X main.version=...);
// otherwise versionString reads the VCS stamp Go puts in the binary.
var version string

func versionString() string {
	info, ok := debug.ReadBuildInfo()
	goVersion := runtime.Version()
	if ok {
		goVersion = info.GoVersion
	}
	if version != "" {
		return version + " (" + goVersion + ")"
	}
	rev, dirty := "unknown", ""
	if ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12:
				rev = s.Value[:12]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "-dirty"
			}
		}
	}
	return "dev-" + rev + dirty + " (" + goVersion + ")"
}
