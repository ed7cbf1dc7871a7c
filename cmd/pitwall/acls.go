package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runAcls is `pitwall acls add|list|delete`: Kafka ACLs, with the flags
// kafka-acls.sh names (--allow-principal, --deny-principal, --operation,
// --topic, --group, --cluster, --transactional-id, --host,
// --resource-pattern-type), through the Kafka API (works against Apache
// Kafka too).
func runAcls(ctx context.Context, args []string) error {
	return aclsMain(ctx, args, os.Stdout, os.Stderr)
}

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// aclsCmd is one parsed `pitwall acls` command line.
type aclsCmd struct {
	action          string
	allow, deny     listFlag
	operations      listFlag
	topics, groups  listFlag
	transactionalID listFlag
	cluster         bool
	host            string
	pattern         string
	brokers         string
	sec             kafkasec.Config
}

func aclsMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseAcls(args, stderr)
	if err != nil {
		return err
	}
	sc, err := admin.DialSecurity(c.brokers, c.sec)
	if err != nil {
		return err
	}
	defer sc.Close()
	switch c.action {
	case "add":
		acls, err := c.entries()
		if err != nil {
			return err
		}
		if err := sc.CreateACLs(ctx, acls); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %d ACLs:\n", len(acls))
		return printACLs(stdout, acls)
	case "list":
		var all []admin.ACL
		for _, f := range c.filters() {
			got, err := sc.ListACLs(ctx, f)
			if err != nil {
				return err
			}
			all = append(all, got...)
		}
		return printACLs(stdout, all)
	default: // delete
		var all []admin.ACL
		for _, f := range c.filters() {
			got, err := sc.DeleteACLs(ctx, f)
			if err != nil {
				return err
			}
			all = append(all, got...)
		}
		fmt.Fprintf(stdout, "deleted %d ACLs:\n", len(all))
		return printACLs(stdout, all)
	}
}

func parseAcls(args []string, stderr io.Writer) (*aclsCmd, error) {
	c := &aclsCmd{}
	fs := newFlagSet("acls", "add|list|delete [flags]\n\ne.g. pitwall acls add --allow-principal User:edge --operation Write --topic telemetry")
	fs.SetOutput(stderr)
	fs.Var(&c.allow, "allow-principal", "principal to ALLOW, User:NAME (repeatable; User:* is everyone)")
	fs.Var(&c.deny, "deny-principal", "principal to DENY, User:NAME (repeatable)")
	fs.Var(&c.operations, "operation", "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable; add: default All)")
	fs.Var(&c.topics, "topic", "topic resource (repeatable; * is every topic)")
	fs.Var(&c.groups, "group", "consumer group resource (repeatable)")
	fs.Var(&c.transactionalID, "transactional-id", "transactional id resource (repeatable)")
	fs.BoolVar(&c.cluster, "cluster", false, "the cluster resource")
	fs.StringVar(&c.host, "host", "", "client address the ACL applies to (add: default *, any)")
	fs.StringVar(&c.pattern, "resource-pattern-type", "", "literal or prefixed; list and delete also any or match (default: add literal, list/delete any)")
	fs.StringVar(&c.brokers, "brokers", "127.0.0.1:9092", "bootstrap brokers, host:port[,host:port]")
	c.sec.AddFlags(fs)
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if err := parseFlags(fs, nil); err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		fs.Usage()
		return nil, errors.New("want one action: add, list or delete")
	}
	c.action = pos[0]
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.sec, err = c.sec.Load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *aclsCmd) validate() error {
	resources := len(c.topics) + len(c.groups) + len(c.transactionalID)
	if c.cluster {
		resources++
	}
	switch c.action {
	case "add":
		if len(c.allow)+len(c.deny) == 0 || resources == 0 {
			return errors.New("add wants a principal (--allow-principal or --deny-principal) and a resource (--topic, --group, --cluster or --transactional-id)")
		}
		if c.pattern != "" && !strings.EqualFold(c.pattern, "literal") && !strings.EqualFold(c.pattern, "prefixed") {
			return fmt.Errorf("--resource-pattern-type %q: add wants literal or prefixed", c.pattern)
		}
	case "delete":
		if len(c.allow)+len(c.deny) == 0 && resources == 0 {
			return errors.New("delete wants a principal or a resource to choose the ACLs (it never deletes them all at once)")
		}
	case "list":
	default:
		return fmt.Errorf("unknown action %q: want add, list or delete", c.action)
	}
	for _, p := range append(append([]string{}, c.allow...), c.deny...) {
		if name, ok := strings.CutPrefix(p, "User:"); !ok || name == "" {
			return fmt.Errorf("principal %q: want User:NAME", p)
		}
	}
	for _, op := range c.operations {
		if _, err := kmsg.ParseACLOperation(op); err != nil {
			return fmt.Errorf("--operation %q: want Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All", op)
		}
	}
	if c.pattern != "" {
		if _, err := kmsg.ParseACLResourcePatternType(c.pattern); err != nil {
			return fmt.Errorf("--resource-pattern-type %q: want literal, prefixed, any or match", c.pattern)
		}
	}
	return nil
}

// resource is one resource named on the command line.
type resource struct {
	typ  kmsg.ACLResourceType
	name string
}

func (c *aclsCmd) resources() []resource {
	var rs []resource
	for _, t := range c.topics {
		rs = append(rs, resource{kmsg.ACLResourceTypeTopic, t})
	}
	for _, g := range c.groups {
		rs = append(rs, resource{kmsg.ACLResourceTypeGroup, g})
	}
	for _, id := range c.transactionalID {
		rs = append(rs, resource{kmsg.ACLResourceTypeTransactionalId, id})
	}
	if c.cluster {
		rs = append(rs, resource{kmsg.ACLResourceTypeCluster, "kafka-cluster"})
	}
	return rs
}

// principals are the principals named, each with its permission.
func (c *aclsCmd) principals() []admin.ACL {
	var ps []admin.ACL
	for _, p := range c.allow {
		ps = append(ps, admin.ACL{Principal: p, Permission: kmsg.ACLPermissionTypeAllow})
	}
	for _, p := range c.deny {
		ps = append(ps, admin.ACL{Principal: p, Permission: kmsg.ACLPermissionTypeDeny})
	}
	return ps
}

// entries are the ACLs add stores: every principal × operation × resource.
func (c *aclsCmd) entries() ([]admin.ACL, error) {
	ops := c.operations
	if len(ops) == 0 {
		ops = listFlag{"All"}
	}
	pt := kmsg.ACLResourcePatternTypeLiteral
	if strings.EqualFold(c.pattern, "prefixed") {
		pt = kmsg.ACLResourcePatternTypePrefixed
	}
	host := c.host
	if host == "" {
		host = "*"
	}
	var out []admin.ACL
	for _, p := range c.principals() {
		for _, op := range ops {
			o, _ := kmsg.ParseACLOperation(op)
			for _, r := range c.resources() {
				rpt := pt
				if r.typ == kmsg.ACLResourceTypeCluster {
					rpt = kmsg.ACLResourcePatternTypeLiteral
				}
				out = append(out, admin.ACL{Principal: p.Principal, Permission: p.Permission, Host: host, Operation: o,
					ResourceType: r.typ, ResourceName: r.name, PatternType: rpt})
			}
		}
	}
	return out, nil
}

// filters are the filters list and delete use: one per principal ×
// operation × resource named, what is not named matching anything.
func (c *aclsCmd) filters() []admin.ACL {
	base := []admin.ACL{{Host: c.host}}
	if ps := c.principals(); len(ps) > 0 {
		base = ps
		for i := range base {
			base[i].Host = c.host
		}
	}
	var pt kmsg.ACLResourcePatternType
	if c.pattern != "" {
		pt, _ = kmsg.ParseACLResourcePatternType(c.pattern)
	}
	var out []admin.ACL
	for _, b := range base {
		b.PatternType = pt
		ops := []kmsg.ACLOperation{0}
		if len(c.operations) > 0 {
			ops = ops[:0]
			for _, op := range c.operations {
				o, _ := kmsg.ParseACLOperation(op)
				ops = append(ops, o)
			}
		}
		for _, o := range ops {
			b.Operation = o
			rs := c.resources()
			if len(rs) == 0 {
				out = append(out, b)
				continue
			}
			for _, r := range rs {
				f := b
				f.ResourceType, f.ResourceName = r.typ, r.name
				out = append(out, f)
			}
		}
	}
	return out
}

func printACLs(stdout io.Writer, acls []admin.ACL) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tPERMISSION\tOPERATION\tHOST\tRESOURCE\tPATTERN\tNAME")
	for _, a := range acls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Principal, a.Permission, a.Operation, a.Host, a.ResourceType, a.PatternType, a.ResourceName)
	}
	return tw.Flush()
}
