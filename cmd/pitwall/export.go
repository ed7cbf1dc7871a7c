package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/export"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/processors/timing"
	"github.com/pitwall/pitwall/telemetry"
)

// runExport is `pitwall export`: a lap or a session of one car as a CSV
// file MoTeC i2 or RaceChrono imports (package internal/export).
func runExport(ctx context.Context, args []string) error {
	return exportTo(ctx, args, os.Stdout, os.Stderr)
}

func exportTo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "--brokers HOST:PORT --car ID [--lap N] [--format motec|racechrono] [--out FILE]")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	car := fs.String("car", "", "the car to export (required)")
	lapN := fs.Int("lap", 0, "export this lap only (default: the whole session, every lap marked)")
	session := fs.String("session", "", "the session (default: the newest the car's laps name)")
	group := fs.String("group", "", "the processor group whose laps mark the file (default: any; needed when several timed the car)")
	format := fs.String("format", export.FormatMoTeC, "motec (MoTeC i2 CSV) or racechrono (RaceChrono CSV, format 3)")
	rate := fs.Int("rate", export.DefaultMoTeCRate, "MoTeC: sample rate of the file, Hz (every channel held at its newest value)")
	venue := fs.String("venue", "", "the venue (track) name written into the file")
	driver := fs.String("driver", "", "the driver's name written into the file")
	out := fs.String("out", "", "write the file here (default stdout)")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case !telemetry.ValidCar(*car):
		return errors.New("--car: want the car's id, e.g. --car car07")
	case *format != export.FormatMoTeC && *format != export.FormatRaceChrono:
		return fmt.Errorf("--format %q: want motec or racechrono", *format)
	case *rate < 1 || *rate > 1000:
		return fmt.Errorf("--rate %d: want 1 to 1000 Hz", *rate)
	case *lapN < 0:
		return fmt.Errorf("--lap %d: want a lap number", *lapN)
	}
	seeds, err := cli.SplitBrokers(*brokers)
	if err != nil {
		return err
	}
	if sec, err = sec.Load(); err != nil {
		return err
	}
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-export"
	sc.Net.DialTimeout = 5 * time.Second
	sc.Consumer.MaxWaitTime = 250 * time.Millisecond
	sc.Metadata.AllowAutoTopicCreation = false
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

	var laps []telemetry.Lap
	err = timing.Read(ctx, client, timing.Filter{Group: *group, Car: *car, Session: *session}, false, func(rows []timing.Row) {
		for _, r := range rows {
			laps = append(laps, r.Lap)
		}
	}, nil, func(error) {})
	if err != nil {
		return err
	}
	if len(laps) == 0 {
		return fmt.Errorf("no laps of %s on %s (timed by %s): has pitwall process run?", *car, telemetry.TopicLaps, orAny(*group))
	}
	sess := *session
	if sess == "" {
		sess = laps[len(laps)-1].Session // sorted by end: the newest
	}
	byLap := map[int32]telemetry.Lap{}
	for _, l := range laps {
		if l.Session != sess {
			continue
		}
		if prev, dup := byLap[l.Lap]; dup && (prev.StartNs != l.StartNs || prev.EndNs != l.EndNs) && *group == "" {
			return fmt.Errorf("lap %d of %s was timed differently by more than one processor group: choose one with --group (pitwall laps --car %s lists them)", l.Lap, *car, *car)
		}
		byLap[l.Lap] = l
	}
	nums := make([]int32, 0, len(byLap))
	for n := range byLap {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	var crossings []int64
	first := nums[0]
	if *lapN > 0 {
		l, ok := byLap[int32(*lapN)]
		if !ok {
			return fmt.Errorf("%s has no lap %d in session %s (laps %d to %d)", *car, *lapN, sess, nums[0], nums[len(nums)-1])
		}
		from, to, crossings, first = l.StartNs, l.EndNs, []int64{l.StartNs, l.EndNs}, l.Lap
	} else {
		for _, n := range nums {
			crossings = append(crossings, byLap[n].StartNs)
		}
		crossings = append(crossings, byLap[nums[len(nums)-1]].EndNs)
	}
	s, err := export.Read(ctx, client, *car, sess, from, to)
	if err != nil {
		return err
	}
	s.Crossings, s.FirstLap, s.Venue, s.Driver = crossings, first, *venue, *driver
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := export.Write(w, s, *format, *rate); err != nil {
		return err
	}
	what := fmt.Sprintf("session %s (%d laps)", sess, len(nums))
	if *lapN > 0 {
		what = fmt.Sprintf("lap %d of session %s", *lapN, sess)
	}
	fmt.Fprintf(stderr, "exported %s of %s: %d frames, %s format\n", what, *car, len(s.Frames), *format)
	if *out != "" {
		if f, ok := w.(*os.File); ok {
			return f.Close()
		}
	}
	return nil
}

func orAny(group string) string {
	if group == "" {
		return "any group"
	}
	return "group " + group
}
