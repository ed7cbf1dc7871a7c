package simulator

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// kafkaOutput produces frames straight into Kafka (Pitwall's broker or any
// other) with sarama, as the edge would: key = car id, partition =
// murmur2 like the Java client, value = Avro Frame; catalogs go to the
// compacted telemetry.channels topic.
type kafkaOutput struct {
	producer sarama.AsyncProducer
	topic    string
	codec    *telemetry.Codec
	log      *slog.Logger

	wg       sync.WaitGroup // the error reader
	mu       sync.Mutex
	firstErr error
	failed   int
}

func newKafkaOutput(t Target, sec kafkasec.Config, log *slog.Logger) (*kafkaOutput, error) {
	cfg := sarama.NewConfig()
	if err := sec.Sarama(cfg); err != nil {
		return nil, fmt.Errorf("simulator: kafka %s: %w", t.Addr, err)
	}
	cfg.ClientID = "pitwall-sim"
	cfg.Producer.Partitioner = partitioner.New
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Errors = true
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.Flush.Bytes = 1 << 20
	cfg.Metadata.AllowAutoTopicCreation = true
	ensureTopics(t, cfg, log)
	p, err := sarama.NewAsyncProducer([]string{t.Addr}, cfg)
	if err != nil {
		return nil, fmt.Errorf("simulator: kafka %s: %w", t.Addr, err)
	}
	o := &kafkaOutput{producer: p, topic: t.Name, codec: telemetry.MustNewCodec(), log: log}
	o.wg.Add(1)
	go o.readErrors()
	return o, nil
}

// ensureTopics creates the frames topic and the compacted catalog topic
// as telemetry.Topics says, if they do not exist yet; brokers that
// auto-create topics would make the catalog topic without compaction.
func ensureTopics(t Target, cfg *sarama.Config, log *slog.Logger) {
	frames, _ := telemetry.Topic(telemetry.TopicFrames)
	frames.Name = t.Name
	channels, _ := telemetry.Topic(telemetry.TopicChannels)
	client, err := sarama.NewClient([]string{t.Addr}, cfg)
	if err == nil {
		err = admin.EnsureTopics(client, frames, channels)
		client.Close()
	}
	if err != nil {
		log.Warn("kafka: cannot create topics, relying on auto-creation", "err", err)
	}
}

func (o *kafkaOutput) readErrors() {
	defer o.wg.Done()
	for perr := range o.producer.Errors() {
		o.mu.Lock()
		if o.firstErr == nil {
			o.firstErr = perr.Err
			o.log.Error("kafka: produce failed", "topic", perr.Msg.Topic, "err", perr.Err)
		}
		o.failed++
		o.mu.Unlock()
	}
}

func (o *kafkaOutput) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.firstErr != nil {
		return fmt.Errorf("simulator: kafka: %d records failed, first: %w", o.failed, o.firstErr)
	}
	return nil
}

func (o *kafkaOutput) send(topic, car string, value []byte) error {
	if err := o.err(); err != nil {
		return err
	}
	o.producer.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(car), Value: sarama.ByteEncoder(value)}
	return nil
}

func (o *kafkaOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	v, err := o.codec.AppendCatalog(nil, cat)
	if err != nil {
		return err
	}
	return o.send(telemetry.TopicChannels, cat.Car, v)
}

func (o *kafkaOutput) Frame(f *telemetry.Frame) error {
	v, err := o.codec.AppendFrame(make([]byte, 0, telemetry.HeaderLen+32+10*len(f.Samples)), f)
	if err != nil {
		return err
	}
	return o.send(o.topic, f.Car, v)
}

func (o *kafkaOutput) Flush() error { return o.err() }

// Close waits until every record is acknowledged or failed.
func (o *kafkaOutput) Close() error {
	o.producer.AsyncClose()
	o.wg.Wait()
	return o.err()
}
