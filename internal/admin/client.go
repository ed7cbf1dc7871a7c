package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// Client is a connection to a cluster for the admin commands.
type Client struct {
	client sarama.Client
	admin  sarama.ClusterAdmin // owns client: closing it closes both

	stop   func() bool   // unregisters the close on ctx's end
	closed chan struct{} // closed once that close is done
}

// Dial connects to brokers ("host:port[,host:port]") as clientID, with a
// short dial timeout so a wrong address fails fast, and gives up on Ctrl-C
// or a cluster that does not answer (Connect). sarama takes no context:
// when ctx ends the connection is closed, which is what makes a call in
// progress give up (SIGINT). Close it after use.
func Dial(ctx context.Context, brokers, clientID string) (*Client, error) {
	return DialSecure(ctx, brokers, clientID, kafkasec.Config{})
}

// DialSecure is Dial with TLS and SASL as sec says (a Config that
// kafkasec's Load returned).
func DialSecure(ctx context.Context, brokers, clientID string, sec kafkasec.Config) (*Client, error) {
	seeds, err := cli.SplitBrokers(brokers)
	if err != nil {
		return nil, err
	}
	cfg := sarama.NewConfig()
	if err := sec.Sarama(cfg); err != nil {
		return nil, err
	}
	cfg.ClientID = clientID
	cfg.Net.DialTimeout = 5 * time.Second
	cfg.Admin.Timeout = 30 * time.Second
	client, err := Connect(ctx, seeds, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", brokers, err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("connect to %s: %w", brokers, err)
	}
	c := &Client{client: client, admin: admin, closed: make(chan struct{})}
	c.stop = context.AfterFunc(ctx, func() { defer close(c.closed); _ = admin.Close() })
	return c, nil
}

// Close closes the connection, or waits until the close ctx's end started
// is done.
func (c *Client) Close() error {
	if c.stop() {
		return c.admin.Close()
	}
	<-c.closed
	return nil
}
