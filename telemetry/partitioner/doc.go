// Package partitioner plugs telemetry.Partition, the Java client's murmur2
// placement of keys, into sarama producers, so sarama puts a car on the
// partition every other Kafka client would. Use New as sarama's
// Config.Producer.Partitioner.
//
// It is a package of its own so that telemetry, which the pure lap
// detector (processors/lap) imports, needs no Kafka client: only the
// producers (edge, processors, simulator, dashboards) import sarama.
package partitioner
