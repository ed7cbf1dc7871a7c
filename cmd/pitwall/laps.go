package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/processors/timing"
)

// runLaps is `pitwall laps`: the laps on telemetry.laps, with sectors,
// validity and the device's own time (package processors/timing).
func runLaps(ctx context.Context, args []string) error {
	return lapsTo(ctx, args, os.Stdout, os.Stderr)
}

func lapsTo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("laps", "--brokers HOST:PORT [--car ID] [--group G] [--follow] [--output table|csv|json]")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	car := fs.String("car", "", "only this car's laps (default all)")
	session := fs.String("session", "", "only this session's laps (default all)")
	group := fs.String("group", "", "only the laps this consumer group timed: one timing of the log (default every group, each row naming its own)")
	follow := fs.Bool("follow", false, "after the laps there are, print each new lap as it comes, until Ctrl-C")
	output := fs.String("output", timing.FormatTable, "table, csv or json (one object per line)")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sec, err := sec.Load()
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	w, err := timing.NewWriter(stdout, *output)
	if err != nil {
		return fmt.Errorf("--output %q: want table, csv or json", *output)
	}
	seeds, err := cli.SplitBrokers(*brokers)
	if err != nil {
		return err
	}
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-laps"
	sc.Net.DialTimeout = 5 * time.Second
	sc.Consumer.MaxWaitTime = 250 * time.Millisecond
	sc.Metadata.AllowAutoTopicCreation = false // reading must not create telemetry.laps with the broker's defaults
	if err := sec.Sarama(sc); err != nil {
		return err
	}
	client, err := admin.Connect(ctx, seeds, sc)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	defer client.Close()
	bad := 0
	var werr error
	backlog := func(rows []timing.Row) {
		if *group == "" {
			noteGroups(stderr, rows)
		}
		werr = w.Header(rows)
		for _, r := range rows {
			if werr == nil {
				werr = w.Write(r)
			}
		}
	}
	each := func(r timing.Row) {
		if werr == nil {
			werr = w.Write(r)
		}
	}
	err = timing.Read(ctx, client, timing.Filter{Group: *group, Car: *car, Session: *session}, *follow, backlog, each,
		func(err error) {
			if bad == 0 {
				fmt.Fprintf(stderr, "skipping records that are not laps: %v\n", err)
			}
			bad++
		})
	switch {
	case errors.Is(err, timing.ErrNoLaps):
		return fmt.Errorf("no laps: %w", err)
	case err != nil:
		return err
	}
	return werr
}

// noteGroups tells, on stderr, that the laps come from more than one
// group (timings of the same log), and how to read one.
func noteGroups(stderr io.Writer, rows []timing.Row) {
	seen := map[string]bool{}
	var groups []string
	for _, r := range rows {
		if !seen[r.Group] {
			seen[r.Group] = true
			groups = append(groups, r.Group)
		}
	}
	if len(groups) > 1 {
		sort.Strings(groups)
		fmt.Fprintf(stderr, "laps of %d consumer groups (each a timing of the same log): %q; --group G reads one\n", len(groups), groups)
	}
}
