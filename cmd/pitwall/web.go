package main

import (
	"context"
	"fmt"
	"os"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runWeb is `pitwall web`: the pit wall page (live timing tower, track
// map) against any broker the lap processor writes to.
func runWeb(ctx context.Context, args []string) error {
	fs := newFlagSet("web", "--brokers HOST:PORT [--listen HOST:PORT] [--track NAME | --track-file FILE] [--drivers FILE]")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	listen := fs.String("listen", "127.0.0.1:8080", "where to serve the page (HOST:PORT; port 0 picks a free one)")
	trackName := fs.String("track", "monza", "built-in track the processor times (its lines are drawn on the map)")
	trackFile := fs.String("track-file", "", "the processor's track file (YAML) instead of a built-in --track")
	drivers := fs.String("drivers", "", "YAML file: car id → number, name, team, colour (e.g. car01: {number: \"44\", name: Lewis Hamilton, team: Ferrari, colour: \"#dc0000\"})")
	order := fs.String("order", web.OrderRace, "race (most laps first) or best (practice and qualifying: best lap first)")
	trap := fs.Float64("speed-trap", 0, "speed trap position, metres after the start/finish line (default: 100 m before the line)")
	group := fs.String("group", "", "only the laps this processor group timed (default every group's)")
	session := fs.String("session", "", "only this session (default every session)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	loadAlarms := alarmsFlag(fs, "the processor evaluates (pitwall process --alarms), listed on the page as armed; raised alarms show without it too")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	logger, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	seeds, err := cli.SplitBrokers(*brokers)
	if err != nil {
		return err
	}
	tr, err := processTrack(fs, *trackName, *trackFile)
	if err != nil {
		return err
	}
	cfg := web.Config{Brokers: seeds, Timing: tr, Order: *order, SpeedTrapM: *trap, Group: *group, Session: *session, Logger: logger}
	if *drivers != "" {
		if cfg.Drivers, err = web.LoadDrivers(*drivers); err != nil {
			return err
		}
	}
	rules, err := loadAlarms()
	if err != nil {
		return err
	}
	if rules != nil {
		cfg.AlarmRules = rules.Names()
	}
	if sec, err = sec.Load(); err != nil {
		return err
	}
	cfg.Sarama = sarama.NewConfig()
	cfg.Sarama.ClientID = "pitwall-web"
	if err := sec.Sarama(cfg.Sarama); err != nil {
		return err
	}
	srv, err := web.New(cfg)
	if err != nil {
		return err
	}
	ln, err := web.Listen(*listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pitwall web: pit wall on http://%s/ (brokers %s, track %s)\n", ln.Addr(), *brokers, tr.Name)
	logger.Debug("web: serving", "addr", ln.Addr().String(), "security", sec)
	return srv.Serve(ctx, ln)
}
