// Package sarama145 holds compatibility tests against sarama 1.45, the last
// sarama release that does not negotiate request versions: it sends the
// versions implied by Config.Version whatever the broker advertises, which
// is how young brokers got EOFs. It is its own module so that the main
// module can use the latest sarama.
package sarama145
