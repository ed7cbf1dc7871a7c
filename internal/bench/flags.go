package bench

import (
	"flag"
	"fmt"
	"io"

	"github.com/pitwall/pitwall/internal/cli"
)

// Options is a parsed `pitwall bench` command line.
type Options struct {
	Config  Config // defaults filled in, validated
	JSON    bool   // print the report as JSON instead of a table
	Verbose bool   // log progress to stderr
}

// ParseArgs parses `pitwall bench produce|consume [flags]` (flags may come
// before or after the workload). Usage and flag errors go to output; -h
// returns flag.ErrHelp.
func ParseArgs(args []string, output io.Writer) (Options, error) {
	var o Options
	c := &o.Config
	fs := flag.NewFlagSet("pitwall bench", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, "usage: pitwall bench produce|consume [flags]\n\n"+
			"Measures the broker at --brokers (or an embedded Pitwall broker) and franz-go's\n"+
			"kfake with the identical workload, one after the other, and prints both.\n"+
			"consume first produces the workload (the fill), then reads back exactly what it wrote.\n"+
			"With --brokers the process runs with GOGC=400 unless GOGC is set, so the load\n"+
			"generator spends less CPU; the embedded broker keeps Go's default.\n"+
			"With --cluster N it measures N `pitwall broker` processes on loopback (a topic of\n"+
			"replication factor N) beside one `pitwall broker` process instead.\n"+
			"`pitwall bench failover -h`: leader failover times of a 3-broker cluster.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Brokers, "brokers", "", "broker under test, host:port[,host:port] (default: an embedded Pitwall broker in a temp dir)")
	fs.StringVar(&c.Topic, "topic", DefaultTopic, "topic to write and read; created when missing")
	fs.IntVar(&c.RecordSize, "record-size", DefaultRecordSize, "record value size in bytes")
	fs.StringVar(&c.Acks, "acks", "all", "producer acks: 0, 1 or all")
	fs.DurationVar(&c.Duration, "duration", 0, "how long to produce (default 10s for produce; exclusive with --records)")
	fs.Int64Var(&c.Records, "records", 0, "how many records to produce (default 1000000 for consume)")
	fs.IntVar(&c.Partitions, "partitions", DefaultPartitions, "partitions of a topic the run creates")
	fs.IntVar(&c.Clients, "clients", DefaultClients, "concurrent kgo clients (connections) producing and consuming")
	fs.IntVar(&c.Clients, "producers", DefaultClients, "same as --clients")
	fs.StringVar(&c.Client, "client", ClientKgo, "produce load generator: kgo (franz-go) or raw (pre-encoded batches, pipelined: measures the broker, not the client)")
	fs.StringVar(&c.Compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	fs.StringVar(&c.Fsync, "fsync", "", "embedded broker's fsync mode: batch, interval or never (default batch)")
	fs.StringVar(&c.DataDir, "data-dir", "", "embedded broker's data directory (default: a temp dir, removed afterwards)")
	fs.StringVar(&c.Peer, "peer", "", "comparison target: kfake (the default), none, plaintext (the embedded broker again on PLAINTEXT, beside --security) or single (one `pitwall broker` process, the default with --cluster)")
	fs.IntVar(&c.Cluster, "cluster", 0, "measure a cluster of this many `pitwall broker` processes on loopback (topic replication factor the same) instead of the embedded broker, beside one broker process")
	fs.StringVar(&c.Security, "security", SecurityPlaintext, "embedded broker's listener the workload runs on: PLAINTEXT, SSL or SASL_SSL (throwaway CA; a SCRAM user of --sasl-mechanism, default SCRAM-SHA-512)")
	c.ClientSecurity.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print the results as JSON")
	fs.BoolVar(&o.Verbose, "v", false, "log progress to stderr")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) != 1 {
		fs.Usage()
		return o, fmt.Errorf("%w: want exactly one workload (produce or consume), got %q", ErrConfig, pos)
	}
	c.Workload = Workload(pos[0])
	if c.Brokers == "" {
		// --sasl-mechanism names the embedded broker's user; the other
		// client flags have nothing to reach.
		c.Mechanism, c.ClientSecurity.Mechanism = c.ClientSecurity.Mechanism, ""
		if c.ClientSecurity.Protocol() != SecurityPlaintext || c.ClientSecurity.User != "" {
			return o, fmt.Errorf("%w: --tls, --tls-ca, --tls-cert, --sasl-user apply to --brokers (the embedded broker takes --security)", ErrConfig)
		}
	}
	if c.ClientSecurity, err = c.ClientSecurity.Load(); err != nil {
		return o, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if o.Config, err = o.Config.withDefaults(); err != nil {
		return o, err
	}
	return o, nil
}
