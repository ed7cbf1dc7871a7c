// Package auth is the broker's security, apart from the protocol: listener
// protocols, TLS certificates, SASL sessions, the SCRAM credential store and
// the ACL authorizer. It knows no Kafka error codes (the broker's handlers
// map its errors); its ACL enums are kmsg's, so requests carry them as
// they are.
//
//	listener.go   Protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ParseEndpoints: Kafka's [PROTOCOL://]HOST:PORT lists
//	tls.go        Certs: the certificate and key, and ClientCAs: the mutual-TLS CA bundle, each reloaded without touching open connections (GetCertificate, GetConfigForClient); TLSPrincipal
//	sasl.go       Authenticator.Start(mechanism) → Session.Step(msg): SCRAM-SHA-256/512 (github.com/xdg-go/scram), PLAIN
//	store.go      Users: salted SCRAM credentials (never passwords) in DataDir/security/users.json
//	acl.go        ACL, Filter, Authorize (a pure function of the ACLs, the super users and the request), ACLs: the store
//
// # Data flow
//
// A connection on a SASL listener names a mechanism (SaslHandshake) and
// steps a Session with each client message (SaslAuthenticate); a Session
// that finishes without error names the user, whose principal is
// "User:"+name. On an SSL listener with a client CA the principal is the
// client certificate's CN. Every request the broker serves is then
// checked with ACLs.Authorize(principal, host, operation, resource) when
// the authorizer is on.
//
// SCRAM goes through xdg-go/scram, with two guards: messages are parsed
// here first (ParseClientFirst, ParseClientFinal), because the library
// indexes into fields it has not checked; and librdkafka's final nonce
// (its nonce followed by the server's whole nonce, which Kafka accepts) is
// verified here by RFC 5802's formulas, since the library insists on the
// nonce alone. PLAIN is checked against the SCRAM credential (salting the
// given password with the stored salt), so no password is ever stored. An
// unknown user is answered like a wrong password (a made-up salt that is
// the same every time), so names cannot be probed.
//
// # Files
//
// Under DataDir/security (created with the first user or ACL, mode 0700;
// a broker that never had either has no such directory):
//
//	users.json   {"NAME": {"SCRAM-SHA-256": {"salt", "iterations", "stored_key", "server_key"}, ...}}  (base64 bytes; mode 0600)
//	acls.json    [{"principal", "host", "resource_type", "resource_name", "pattern_type", "operation", "permission"}, ...]  (enum names)
//
// Each is rewritten whole on every change: written to NAME.tmp, fsynced,
// renamed over NAME, the directory fsynced (as internal/durable does, but
// readable by the owner only). A change is in effect only once it is on
// disk; a failed write changes nothing. The broker holds the stores open
// while it runs; `pitwall users --data-dir` edits users.json only while
// no broker holds the data directory's lock.
package auth
