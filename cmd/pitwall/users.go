package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runUsers is `pitwall users add|delete NAME | list [NAME...]`: the SCRAM
// users of a broker, through the Kafka API (--brokers; works against
// Apache Kafka too) or, on a stopped broker, in its data directory
// (--data-dir), which is how the first admin is made.
func runUsers(ctx context.Context, args []string) error {
	return usersMain(ctx, args, os.Stdin, os.Stdout, os.Stderr)
}

// usersCmd is one parsed `pitwall users` command line.
type usersCmd struct {
	action     string
	names      []string
	mechanisms []string
	dataDir    string
	brokers    string
	sec        kafkasec.Config
}

var scramMechanisms = []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}

func usersMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := parseUsers(args, stderr)
	if err != nil {
		return err
	}
	var password string
	if c.action == "add" {
		if password, err = readPassword(stdin, stderr, c.names[0]); err != nil {
			return err
		}
	}
	if c.dataDir != "" {
		return usersOffline(c, password, stdout)
	}
	sc, err := admin.DialSecurity(c.brokers, c.sec)
	if err != nil {
		return err
	}
	defer sc.Close()
	switch c.action {
	case "add":
		for _, m := range c.mechanisms {
			if err := sc.SetUser(ctx, c.names[0], m, password); err != nil {
				return err
			}
		}
		_, err = fmt.Fprintf(stdout, "set %s credentials of user %s\n", strings.Join(c.mechanisms, " and "), c.names[0])
		return err
	case "delete":
		return deleteUser(c, stdout, func(m string) error { return sc.DeleteUser(ctx, c.names[0], m) })
	default:
		users, err := sc.ListUsers(ctx, c.names...)
		if err != nil {
			return err
		}
		var rows [][3]string
		for _, u := range users {
			for _, cr := range u.Credentials {
				rows = append(rows, [3]string{u.Name, cr.Mechanism, fmt.Sprint(cr.Iterations)})
			}
		}
		return printUsers(stdout, rows)
	}
}

// usersOffline changes or lists the users in a stopped broker's data
// directory.
func usersOffline(c *usersCmd, password string, stdout io.Writer) error {
	switch c.action {
	case "add":
		for _, m := range c.mechanisms {
			if err := broker.SetUserOffline(c.dataDir, c.names[0], m, password, 0); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(stdout, "set %s credentials of user %s in %s\n", strings.Join(c.mechanisms, " and "), c.names[0], c.dataDir)
		return err
	case "delete":
		return deleteUser(c, stdout, func(m string) error { return broker.DeleteUserOffline(c.dataDir, c.names[0], m) })
	default:
		users, err := broker.ListUsersOffline(c.dataDir, c.names...)
		if err != nil {
			return err
		}
		var rows [][3]string
		for _, u := range users {
			for _, cr := range u.Credentials {
				rows = append(rows, [3]string{u.Name, cr.Mechanism, fmt.Sprint(cr.Iterations)})
			}
		}
		return printUsers(stdout, rows)
	}
}

// deleteUser deletes the user's credential of each mechanism asked for:
// with no --mechanism, whichever it has (an error only if it has none).
func deleteUser(c *usersCmd, stdout io.Writer, del func(mechanism string) error) error {
	var deleted []string
	var errs []error
	for _, m := range c.mechanisms {
		if err := del(m); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, m)
	}
	if len(deleted) == 0 || len(c.mechanisms) == 1 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	_, err := fmt.Fprintf(stdout, "deleted %s credentials of user %s\n", strings.Join(deleted, " and "), c.names[0])
	return err
}

func printUsers(stdout io.Writer, rows [][3]string) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tMECHANISM\tITERATIONS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	return tw.Flush()
}

func parseUsers(args []string, stderr io.Writer) (*usersCmd, error) {
	c := &usersCmd{}
	fs := newFlagSet("users", "add NAME | delete NAME | list [NAME...]  (--data-dir DIR | --brokers HOST:PORT) [flags]\n\nadd reads the new password from stdin (without echo on a terminal)")
	fs.SetOutput(stderr)
	mechanism := fs.String("mechanism", "", "SCRAM-SHA-256 or SCRAM-SHA-512 (default: both)")
	fs.StringVar(&c.dataDir, "data-dir", "", "a stopped broker's data directory: change its users offline (to create the first admin)")
	fs.StringVar(&c.brokers, "brokers", "", "bootstrap brokers, host:port[,host:port]: change users through the Kafka API")
	c.sec.AddFlags(fs)
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if err := parseFlags(fs, nil); err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		fs.Usage()
		return nil, errors.New("want an action: add, delete or list")
	}
	c.action, c.names = pos[0], pos[1:]
	switch c.action {
	case "add", "delete":
		if len(c.names) != 1 || c.names[0] == "" {
			return nil, fmt.Errorf("%s wants exactly one user name, got %q", c.action, c.names)
		}
	case "list":
	default:
		return nil, fmt.Errorf("unknown action %q: want add, delete or list", c.action)
	}
	switch *mechanism {
	case "":
		c.mechanisms = scramMechanisms
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		c.mechanisms = []string{*mechanism}
	default:
		return nil, fmt.Errorf("--mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", *mechanism)
	}
	if (c.dataDir == "") == (c.brokers == "") {
		return nil, errors.New("want one of --data-dir DIR (a stopped broker) and --brokers HOST:PORT (a running one)")
	}
	if c.sec, err = c.sec.Load(); err != nil {
		return nil, err
	}
	return c, nil
}

// readPassword reads a new password from stdin: at a prompt without echo
// when stdin is a terminal, else its first line. It is never an argument,
// so `ps` cannot show it.
func readPassword(stdin io.Reader, stderr io.Writer, user string) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "new password for %s: ", user)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return "", errors.New("empty password: give it on stdin (echo secret | pitwall users add NAME ...)")
	}
	return pw, nil
}
