// Package kafkasec is the security of Pitwall's Kafka clients: TLS (with an
// optional client certificate for mutual TLS) and SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512), set the way Kafka's own clients name them.
//
// Every Pitwall Kafka client takes the same flags, registered by AddFlags:
//
//	--tls                 TLS to the brokers (implied by --tls-ca, --tls-cert)
//	--tls-ca FILE         PEM CA bundle the brokers' certificates must chain to (default: the system's)
//	--tls-cert FILE       client certificate for mutual TLS (with --tls-key)
//	--tls-key FILE
//	--sasl-mechanism M    PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	--sasl-user NAME
//	--sasl-password-file FILE  the password (first line), else $PITWALL_SASL_PASSWORD
//
// The password is never a flag value, so `ps` never shows it, and Config
// never prints it (Secret). Load reads it and checks the whole, with one-line
// errors; then Sarama applies the settings to a sarama.Config and KgoOpts
// turns them into franz-go options.
//
// # Data flow
//
//	flags / PITWALL_* / YAML ──▶ Config ──Load──▶ Config (password read, checked)
//	    ──Sarama(sc)──▶ sc.Net.TLS, sc.Net.SASL (SCRAM through github.com/xdg-go/scram)
//	    ──KgoOpts()──▶ kgo.DialTLSConfig, kgo.SASL (franz-go's own plain and scram)
//
// Redact is the one helper that turns a URL with credentials into one safe
// to print (user kept, password dropped): status lines, logs, metric labels
// and dead-letter keys and headers use it for every source name.
package kafkasec
