package telemetry

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/hamba/avro/v2"
)

// The schemas this version of the package writes, and reads by default.
var (
	//go:embed frame.avsc
	FrameSchema string
	//go:embed catalog.avsc
	CatalogSchema string
	//go:embed lap.avsc
	LapSchema string
	//go:embed live.avsc
	LiveSchema string
	//go:embed alarm.avsc
	AlarmSchema string
)

// older holds the schemas this package wrote before the current ones
// (older/<name>_v<n>.avsc, never edited): every Codec reads records
// written with them without Register, so records already in the log stay
// readable when a schema gains a field.
//
//go:embed older/*.avsc
var older embed.FS

// Full names of the record schemas.
const (
	NameFrame   = "pitwall.telemetry.Frame"
	NameCatalog = "pitwall.telemetry.ChannelCatalog"
	NameLap     = "pitwall.telemetry.Lap"
	NameLive    = "pitwall.telemetry.Live"
	NameAlarm   = "pitwall.telemetry.Alarm"
)

// HeaderLen is the length of the single-object encoding header: the magic
// 0xC3 0x01 and the 8-byte little-endian CRC-64-AVRO schema fingerprint.
const HeaderLen = 10

// Errors of the Avro codec.
var (
	// ErrNotAvro: the bytes do not start with the single-object magic.
	ErrNotAvro = errors.New("telemetry: not Avro single-object encoded")
	// ErrUnknownSchema: the writer's schema fingerprint is not registered.
	ErrUnknownSchema = errors.New("telemetry: unknown writer schema")
	// ErrWrongSchema: the record is of another type than asked for.
	ErrWrongSchema = errors.New("telemetry: record is of another schema")
	// ErrIncompatible: a writer schema cannot be read as any known type.
	ErrIncompatible = errors.New("telemetry: incompatible writer schema")
	// ErrCorrupt: the Avro body is truncated, overlong or malformed.
	ErrCorrupt = errors.New("telemetry: corrupt Avro record")
)

// Codec encodes Frames, ChannelCatalogs, Laps, Live and Alarm records as Avro single-object
// records, and decodes records written with any registered writer schema,
// older or newer, by Avro schema resolution. The current schemas are always
// registered. A Codec is safe for concurrent use.
type Codec struct {
	api     avro.API
	readers map[string]avro.Schema // full name → this package's schema
	current map[string]uint64      // full name → its fingerprint

	mu      sync.RWMutex
	writers map[uint64]writerSchema
}

// writerSchema is one registered writer schema, already resolved against
// the reader schema of the same name.
type writerSchema struct {
	name     string
	resolved avro.Schema
}

// NewCodec returns a Codec that knows the embedded schemas.
func NewCodec() (*Codec, error) {
	c := &Codec{
		api: avro.Config{
			MaxByteSliceSize:  1 << 16,
			MaxSliceAllocSize: MaxSamples,
		}.Freeze(),
		readers: make(map[string]avro.Schema),
		current: make(map[string]uint64),
		writers: make(map[uint64]writerSchema),
	}
	for _, src := range []string{FrameSchema, CatalogSchema, LapSchema, LiveSchema, AlarmSchema} {
		s, err := parseSchema(src)
		if err != nil {
			return nil, err
		}
		name := s.(avro.NamedSchema).FullName()
		c.readers[name] = s
		fp, err := fingerprint(s)
		if err != nil {
			return nil, err
		}
		c.current[name] = fp
		c.writers[fp] = writerSchema{name: name, resolved: s}
	}
	files, err := older.ReadDir("older")
	if err != nil {
		return nil, fmt.Errorf("telemetry: older schemas: %w", err)
	}
	for _, f := range files {
		src, err := older.ReadFile("older/" + f.Name())
		if err != nil {
			return nil, fmt.Errorf("telemetry: older schemas: %w", err)
		}
		if _, err := c.Register(string(src)); err != nil {
			return nil, fmt.Errorf("telemetry: older schema %s: %w", f.Name(), err)
		}
	}
	return c, nil
}

// MustNewCodec is NewCodec for callers that cannot handle an error: the
// embedded schemas are fixed at build time, so it fails only if they are
// broken, which this package's tests rule out.
func MustNewCodec() *Codec {
	c, err := NewCodec()
	if err != nil {
		panic(err)
	}
	return c
}

// Register adds a writer schema (Avro JSON), so records written with it can
// be decoded. It must be a record named like one of this package's schemas
// and resolvable into it (fields added with defaults, fields removed, ...).
// It returns the schema's fingerprint.
func (c *Codec) Register(schemaJSON string) (uint64, error) {
	s, err := parseSchema(schemaJSON)
	if err != nil {
		return 0, err
	}
	named, ok := s.(avro.NamedSchema)
	if !ok {
		return 0, fmt.Errorf("%w: not a named record", ErrIncompatible)
	}
	reader, ok := c.readers[named.FullName()]
	if !ok {
		return 0, fmt.Errorf("%w: unknown record %s", ErrIncompatible, named.FullName())
	}
	fp, err := fingerprint(s)
	if err != nil {
		return 0, err
	}
	resolved, err := avro.NewSchemaCompatibility().Resolve(reader, s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrIncompatible, named.FullName(), err)
	}
	c.mu.Lock()
	c.writers[fp] = writerSchema{name: named.FullName(), resolved: resolved}
	c.mu.Unlock()
	return fp, nil
}

// Fingerprint returns the CRC-64-AVRO fingerprint of the current schema
// with the given full name (NameFrame, NameCatalog, NameLap).
func (c *Codec) Fingerprint(name string) (uint64, bool) {
	fp, ok := c.current[name]
	return fp, ok
}

// Identify returns the full schema name of a single-object record, without
// decoding it.
func (c *Codec) Identify(data []byte) (string, error) {
	fp, _, err := SplitHeader(data)
	if err != nil {
		return "", err
	}
	c.mu.RLock()
	w, ok := c.writers[fp]
	c.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("%w: fingerprint %016x", ErrUnknownSchema, fp)
	}
	return w.name, nil
}

// SplitHeader checks the single-object header and returns the writer
// schema's fingerprint and the Avro body.
func SplitHeader(data []byte) (fp uint64, body []byte, err error) {
	if len(data) < HeaderLen || data[0] != 0xC3 || data[1] != 0x01 {
		return 0, nil, ErrNotAvro
	}
	return binary.LittleEndian.Uint64(data[2:HeaderLen]), data[HeaderLen:], nil
}

// AppendHeader appends the single-object header for fingerprint fp.
func AppendHeader(dst []byte, fp uint64) []byte {
	dst = append(dst, 0xC3, 0x01)
	return binary.LittleEndian.AppendUint64(dst, fp)
}

// AppendCatalog appends cat, validated, as a single-object record.
func (c *Codec) AppendCatalog(dst []byte, cat *ChannelCatalog) ([]byte, error) {
	if err := cat.Validate(); err != nil {
		return dst, err
	}
	return c.appendGeneric(dst, NameCatalog, cat)
}

// DecodeCatalog decodes a single-object ChannelCatalog and validates it.
func (c *Codec) DecodeCatalog(data []byte, cat *ChannelCatalog) error {
	*cat = ChannelCatalog{}
	if err := c.decodeGeneric(data, NameCatalog, cat); err != nil {
		return err
	}
	return cat.Validate()
}

// AppendLap appends lap, validated, as a single-object record.
func (c *Codec) AppendLap(dst []byte, lap *Lap) ([]byte, error) {
	if err := lap.Validate(); err != nil {
		return dst, err
	}
	return c.appendGeneric(dst, NameLap, lap)
}

// DecodeLap decodes a single-object Lap and validates it.
func (c *Codec) DecodeLap(data []byte, lap *Lap) error {
	*lap = Lap{}
	if err := c.decodeGeneric(data, NameLap, lap); err != nil {
		return err
	}
	return lap.Validate()
}

// AppendLive appends l, validated, as a single-object record.
func (c *Codec) AppendLive(dst []byte, l *Live) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return dst, err
	}
	return c.appendGeneric(dst, NameLive, l)
}

// DecodeLive decodes a single-object Live record and validates it.
func (c *Codec) DecodeLive(data []byte, l *Live) error {
	*l = Live{}
	if err := c.decodeGeneric(data, NameLive, l); err != nil {
		return err
	}
	return l.Validate()
}

// AppendAlarm appends a, validated, as a single-object record.
func (c *Codec) AppendAlarm(dst []byte, a *Alarm) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return dst, err
	}
	return c.appendGeneric(dst, NameAlarm, a)
}

// DecodeAlarm decodes a single-object Alarm record and validates it.
func (c *Codec) DecodeAlarm(data []byte, a *Alarm) error {
	*a = Alarm{}
	if err := c.decodeGeneric(data, NameAlarm, a); err != nil {
		return err
	}
	return a.Validate()
}

func (c *Codec) appendGeneric(dst []byte, name string, v any) ([]byte, error) {
	body, err := c.api.Marshal(c.readers[name], v)
	if err != nil {
		return dst, fmt.Errorf("telemetry: encode %s: %w", name, err)
	}
	dst = AppendHeader(dst, c.current[name])
	return append(dst, body...), nil
}

// lookup returns the resolved schema for a record of type name.
func (c *Codec) lookup(data []byte, name string) (avro.Schema, []byte, error) {
	fp, body, err := SplitHeader(data)
	if err != nil {
		return nil, nil, err
	}
	c.mu.RLock()
	w, ok := c.writers[fp]
	c.mu.RUnlock()
	if !ok {
		return nil, nil, fmt.Errorf("%w: fingerprint %016x", ErrUnknownSchema, fp)
	}
	if w.name != name {
		return nil, nil, fmt.Errorf("%w: want %s, got %s", ErrWrongSchema, name, w.name)
	}
	return w.resolved, body, nil
}

// decodeGeneric decodes with hamba/avro, strictly: unlike avro.Unmarshal it
// fails on a truncated body and on bytes left over.
func (c *Codec) decodeGeneric(data []byte, name string, v any) error {
	schema, body, err := c.lookup(data, name)
	if err != nil {
		return err
	}
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(c.api)).Reset(body)
	r.ReadVal(schema, v)
	if r.Error != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, name, r.Error)
	}
	var extra [1]byte
	if r.Read(extra[:]); r.Error == nil {
		return fmt.Errorf("%w: %s: bytes left over", ErrCorrupt, name)
	}
	return nil
}

// parseSchema parses with a private cache, so that two versions of one
// named schema never meet in hamba's global cache.
func parseSchema(src string) (avro.Schema, error) {
	s, err := avro.ParseWithCache(src, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	return s, nil
}

func fingerprint(s avro.Schema) (uint64, error) {
	b, err := s.FingerprintUsing(avro.CRC64AvroLE)
	if err != nil {
		return 0, fmt.Errorf("telemetry: fingerprint: %w", err)
	}
	return binary.LittleEndian.Uint64(b), nil
}
