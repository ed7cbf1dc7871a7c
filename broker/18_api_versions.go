package broker

// ApiVersions (key 18), versions 0-4.
//
// Every client sends it first. The answer lists exactly the registry in
// apis.go. A request at a version above ours is answered at version 0 with
// UNSUPPORTED_VERSION and our ranges, as Kafka does, so clients (librdkafka
// falls back on error 35, kgo retries lower) can retry. The response header
// never carries tagged fields, even at v3+ (see conn.writeReply): librdkafka
// misparses it otherwise.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var apiVersionsAPI = api{key: 18, name: "ApiVersions", minVersion: 0, maxVersion: 4, handle: handleAPIVersions}

func handleAPIVersions(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.ApiVersionsRequest)
	if req.ClientSoftwareName != "" {
		c.clientSoftware = req.ClientSoftwareName + " " + req.ClientSoftwareVersion
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiVersionKeys()
	return ready(resp)
}

// unsupportedAPIVersions is the v0 answer to an ApiVersions request at a
// version we do not know.
func unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = apiVersionKeys()
	return resp
}

func apiVersionKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(registry))
	for _, a := range registry {
		if a == nil {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.minVersion, a.maxVersion
		keys = append(keys, k)
	}
	return keys
}
