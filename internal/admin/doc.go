// Package admin is Kafka administration over sarama, using only standard
// admin APIs so it works against Apache Kafka as it does against Pitwall's
// broker. It has two users:
//
//   - the producers of Pitwall's topics (the edge, the simulator's Kafka
//     output, the lap processor), which create the topics they write with
//     the settings in telemetry.Topics before writing (EnsureTopics);
//   - `pitwall topics`, `pitwall groups`, `pitwall users` and `pitwall
//     acls` (cmd/pitwall), which parse flags and print what a Client or a
//     SecurityClient returns.
//
// # Data flow
//
//	EnsureTopics(client, specs): CreateTopics per spec; "already exists" is success
//	Dial(ctx, brokers) ──▶ Client (one sarama client; closed when ctx ends, so a call in progress gives up)
//	    CreateTopic, DeleteTopic        ──▶ CreateTopics, DeleteTopics
//	    ListTopics                      ──▶ Metadata                      ──▶ []TopicSummary, by name
//	    DescribeTopics                  ──▶ Metadata, DescribeConfigs     ──▶ []TopicDescription
//	    ListGroups                      ──▶ ListGroups, DescribeGroups    ──▶ []GroupSummary, by name
//	    DescribeGroup                   ──▶ DescribeGroups, OffsetFetch, ListOffsets
//	                                    ──▶ Group: members, and per partition committed, end, lag
//	                                        (and, from the lap processor's commit metadata,
//	                                        position and records held in open laps)
//	DialSecurity(brokers, sec) ──▶ SecurityClient (franz-go: sarama's admin drops CreateAcls' errors)
//	    SetUser, DeleteUser, ListUsers  ──▶ AlterUserScramCredentials (the password salted here), DescribeUserScramCredentials
//	    CreateACLs, ListACLs, DeleteACLs ──▶ CreateAcls, DescribeAcls, DeleteAcls ──▶ []ACL, sorted
//
// Results are plain values, sorted, with nothing formatted: printing them
// is the command's job. Errors a user can cause read as sentences ("topic
// cars already exists", "group nope does not exist").
package admin
