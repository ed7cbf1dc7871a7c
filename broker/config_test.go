package broker

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigDefaults: an empty field gets its Default* constant, a set
// field is kept, and each invalid field is named in an ErrConfig.
func TestConfigDefaults(t *testing.T) {
	c, err := Config{DataDir: "d", Partitions: 3, Retention: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir: "d", Partitions: 3, Retention: -1,
		Listen: DefaultListen, Fsync: DefaultFsync, FsyncInterval: DefaultFsyncInterval,
		SegmentBytes: DefaultSegmentBytes, MaxRequestBytes: DefaultMaxRequestBytes,
		MaxMessageBytes: DefaultMaxMessageBytes, FetchMaxBytes: DefaultFetchMaxBytes,
		MaxPartitions: DefaultMaxPartitions, RetentionCheckInterval: DefaultRetentionCheckInterval,
		MaxInflightRequestBytes: DefaultMaxInflightRequestBytes, RequestTimeout: DefaultRequestTimeout,
		ConnectionsMaxIdle: DefaultConnectionsMaxIdle, MaxConnections: DefaultMaxConnections,
		MaxConnectionsPerIP: DefaultMaxConnectionsPerIP, FetchMemory: DefaultFetchMemory,
		ScrubInterval: DefaultScrubInterval, SASLMechanisms: DefaultSASLMechanisms,
		Logger: c.Logger,
	}
	if !reflect.DeepEqual(c, want) || c.Logger == nil {
		t.Errorf("withDefaults:\n got %+v\nwant %+v", c, want)
	}
	for _, tc := range []struct {
		cfg  Config
		want string // in the error
	}{
		{Config{}, "DataDir is required"},
		{Config{DataDir: "d", Listen: "nowhere"}, "Listen"},
		{Config{DataDir: "d", Advertise: "host"}, "Advertise"},
		{Config{DataDir: "d", Fsync: "sometimes"}, "Fsync"},
		{Config{DataDir: "d", FsyncInterval: -time.Second}, "FsyncInterval"},
		{Config{DataDir: "d", Partitions: 11, MaxPartitions: 10}, "Partitions 11 not in 1..10"},
		{Config{DataDir: "d", SegmentBytes: 100}, "SegmentBytes"},
		{Config{DataDir: "d", MaxRequestBytes: 100}, "MaxRequestBytes"},
		{Config{DataDir: "d", MaxMessageBytes: -1}, "MaxMessageBytes"},
		{Config{DataDir: "d", FetchMaxBytes: -1}, "FetchMaxBytes"},
		{Config{DataDir: "d", GroupInitialRebalanceDelay: -time.Second}, "GroupInitialRebalanceDelay"},
		{Config{DataDir: "d", MaxInflightRequestBytes: 1000}, "MaxInflightRequestBytes"},
		{Config{DataDir: "d", RequestTimeout: -time.Second}, "RequestTimeout"},
		{Config{DataDir: "d", MaxConnections: -1}, "MaxConnections"},
		{Config{DataDir: "d", MaxConnectionsPerIP: -1}, "MaxConnectionsPerIP"},
		{Config{DataDir: "d", FetchMemory: 1000}, "FetchMemory"},
		{Config{DataDir: "d", Voters: "1@127.0.0.1:9093", NodeID: 1, Listen: "SASL_SSL://127.0.0.1:9094,127.0.0.1:9092",
			TLSCertFile: "c", TLSKeyFile: "k"}, "first listener carries replication between brokers and must be PLAINTEXT"},
	} {
		if _, err := tc.cfg.withDefaults(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want ErrConfig naming %s", tc.cfg, err, tc.want)
		}
	}
}
