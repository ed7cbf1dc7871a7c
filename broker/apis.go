package broker

import "github.com/twmb/franz-go/pkg/kmsg"

// api is one Kafka API this broker serves: its key, the versions it
// accepts, and its handler. Each api value is defined in the file named after
// its key; registry lists them all, and ApiVersions answers from it.
type api struct {
	key        int16
	name       string
	minVersion int16
	maxVersion int16
	// handle runs on the connection's read goroutine, in request order. It
	// returns the reply to send, nil for none (acks=0 produce), or a
	// pending reply completed later (see conn.pending).
	handle func(c *conn, req kmsg.Request) *reply
}

// registry is every API served, indexed by key. It is built once, in init
// (ApiVersions' handler reads it, so it cannot be a plain initializer), and
// never changed after.
var registry []*api

func init() {
	registry = buildRegistry(
		produceAPI,
		fetchAPI,
		listOffsetsAPI,
		metadataAPI,
		apiVersionsAPI,
		createTopicsAPI,
		deleteTopicsAPI,
		describeConfigsAPI,
		offsetForLeaderEpochAPI,
		initProducerIDAPI,
		offsetCommitAPI,
		offsetFetchAPI,
		findCoordinatorAPI,
		joinGroupAPI,
		heartbeatAPI,
		leaveGroupAPI,
		syncGroupAPI,
		describeGroupsAPI,
		listGroupsAPI,
		deleteGroupsAPI,
		offsetDeleteAPI,
		saslHandshakeAPI,
		saslAuthenticateAPI,
		describeACLsAPI,
		createACLsAPI,
		deleteACLsAPI,
		describeUserScramCredentialsAPI,
		alterUserScramCredentialsAPI,
		electLeadersAPI,
	)
}

func buildRegistry(apis ...api) []*api {
	maxKey := int16(0)
	for _, a := range apis {
		maxKey = max(maxKey, a.key)
	}
	r := make([]*api, maxKey+1)
	for i := range apis {
		a := apis[i]
		if a.maxVersion > kmsg.RequestForKey(a.key).MaxVersion() {
			panic("broker: " + a.name + " advertises a version kmsg cannot decode") // programming error, caught by tests
		}
		r[a.key] = &a
	}
	return r
}

// lookupAPI returns the api for key, or nil.
func lookupAPI(key int16) *api {
	if key < 0 || int(key) >= len(registry) {
		return nil
	}
	return registry[key]
}

// deref is the value of a nullable string field, "" for null.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
