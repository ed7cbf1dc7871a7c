package source

// Reasons for bad input, as passed to Sink.Bad: the value of the "reason"
// header on telemetry.deadletter and the reason label of
// edge_bad_input_total. Every source uses these names, so one reason
// means one thing whichever source saw it.
const (
	// Any source.
	ReasonMalformed = "malformed" // breaks the input's grammar (a line, an SLCAN record, a can_frame)
	ReasonTooLong   = "too_long"  // no record end within the format's longest record

	// Serial lines.
	ReasonChecksum   = "checksum"    // the line's CRC does not match
	ReasonWrongCar   = "wrong_car"   // a car other than the port's configured car
	ReasonBadCatalog = "bad_catalog" // channel lines that do not make a valid catalog

	// CAN (SLCAN, SocketCAN).
	ReasonShortFrame = "short_frame" // fewer data bytes than the DBC message

	// MQTT payloads.
	ReasonUnknownFormat = "unknown_format" // neither Avro single-object nor a JSON object
	ReasonUnknownSchema = "unknown_schema" // Avro with a writer schema nobody registered
	ReasonCorrupt       = "corrupt"        // Avro that does not decode
	ReasonBadJSON       = "bad_json"       // JSON that does not decode into a frame or catalog
	ReasonInvalid       = "invalid"        // decodes, but breaks the model's rules
	ReasonCarMismatch   = "car_mismatch"   // the payload names another car than its topic
	ReasonBadTopic      = "bad_topic"      // the topic level holding the car id is not a car id

	// The edge itself (source "edge"): a record the broker refused
	// outright, dead-lettered after its attempts.
	ReasonProduceRejected = "produce_rejected"
)

// Events that are not bad input, as passed to Sink.Note: the event label
// of edge_source_events_total.
const (
	EventResync     = "resync"      // bytes skipped after (re)opening: the tail of a record whose start was never read
	EventUnknownID  = "unknown_id"  // a CAN id the DBC does not describe
	EventErrorReply = "error_reply" // an SLCAN adapter answered a command with BEL
	EventStatus     = "bus_status"  // an SLCAN adapter reported error flags (F)
	EventBusError   = "bus_error"   // a SocketCAN error frame (CAN_ERR_FLAG)
)

// Reasons records are dropped: the reason label of edge_dropped_total.
// Dropped records are lost.
const (
	DropTooLarge       = "too_large"            // a record larger than the spool takes
	DropSpoolFull      = "spool_full"           // the spool refused it at its bound (drop-newest)
	DropClosed         = "closed"               // the spool was closed
	DropDiskFull       = "disk_full"            // the disk holding the spool was full (alarm, drop-newest)
	DropWriteFailed    = "write_failed"         // the spool could not write it (an I/O error)
	DropRejected       = "rejected"             // the broker refused it and its dead letter could not be spooled
	DropRejectedLetter = "rejected_dead_letter" // the broker refused a dead letter itself
)
