// Package cli holds the small command-line helpers that pitwall's
// subcommands and the engines behind them share.
package cli

import (
	"errors"
	"flag"
	"strings"
)

// ParseInterleaved parses flags that may come before, between and after the
// positional arguments, and returns the positional ones. After "--" every
// argument is positional.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// SplitBrokers turns "host:port[,host:port]" into a list, refusing an
// empty one.
func SplitBrokers(brokers string) ([]string, error) {
	var seeds []string
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			seeds = append(seeds, b)
		}
	}
	if len(seeds) == 0 {
		return nil, errors.New("--brokers: want host:port")
	}
	return seeds, nil
}
