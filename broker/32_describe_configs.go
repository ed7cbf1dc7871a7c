package broker

// DescribeConfigs (key 32), versions 0-4.
//
// Topics (resource type 2) answer every config of internal/partition with its
// effective value and whether the topic sets it or inherits the broker
// default; the broker (type 4, named by its node id or "") answers the
// broker-wide defaults under Kafka's log.* names. Synonyms (v1+) list the
// broker default behind a topic value, as Kafka does, so tools that show
// "inherited from" work.

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

var describeConfigsAPI = api{key: 32, name: "DescribeConfigs", minVersion: 0, maxVersion: 4, handle: handleDescribeConfigs}

// brokerConfigNames maps topic configs to the broker configs that default
// them, with Kafka's names.
var brokerConfigNames = map[string]string{
	"cleanup.policy":    "log.cleanup.policy",
	"max.message.bytes": "message.max.bytes",
	"retention.bytes":   "log.retention.bytes",
	"retention.ms":      "log.retention.ms",
	"segment.bytes":     "log.segment.bytes",
	"segment.ms":        "log.roll.ms",
}

func handleDescribeConfigs(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if !c.mayTopic(kmsg.ACLOperationDescribeConfigs, rr.ResourceName) {
				sr.ErrorCode = kerr.TopicAuthorizationFailed.Code
				break
			}
			t := c.s.topics.Lookup(rr.ResourceName)
			if t == nil {
				sr.ErrorCode, sr.ErrorMessage = errorCode(partition.ErrUnknownTopic), errorMessage(partition.ErrUnknownTopic)
				break
			}
			sr.Configs = c.s.describeTopic(t, wanted(rr.ConfigNames), req.IncludeSynonyms)
		case kmsg.ConfigResourceTypeBroker:
			if !c.mayCluster(kmsg.ACLOperationDescribeConfigs) {
				sr.ErrorCode = kerr.ClusterAuthorizationFailed.Code
				break
			}
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(c.s.cfg.NodeID)) {
				sr.ErrorCode = kerr.InvalidRequest.Code
				sr.ErrorMessage = kmsg.StringPtr("unknown broker " + rr.ResourceName)
				break
			}
			sr.Configs = c.s.describeBroker(wanted(rr.ConfigNames))
		default:
			sr.ErrorCode = kerr.InvalidRequest.Code
			sr.ErrorMessage = kmsg.StringPtr("only topic and broker configs can be described")
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return ready(resp)
}

// wanted turns a ConfigNames filter into a predicate; null or empty asks
// for everything.
func wanted(names []string) func(string) bool {
	if len(names) == 0 {
		return func(string) bool { return true }
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return func(n string) bool { return set[n] }
}

func (s *Server) describeTopic(t *partition.Topic, want func(string) bool, synonyms bool) []kmsg.DescribeConfigsResponseResourceConfig {
	defaults := s.topics.Defaults()
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, k := range partition.ConfigKeys() {
		if !want(k) {
			continue
		}
		rc := kmsg.NewDescribeConfigsResponseResourceConfig()
		v, set := t.Config().Value(k), t.Config().SetOnTopic(k)
		rc.Name, rc.Value = k, &v
		rc.IsDefault = !set
		rc.Source = configSource(set)
		rc.ConfigType = configType(k)
		if synonyms {
			if set {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = k, &v, kmsg.ConfigSourceDynamicTopicConfig
				rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
			}
			d := defaults[k]
			syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			syn.Name, syn.Value, syn.Source = brokerConfigNames[k], &d, kmsg.ConfigSourceDefaultConfig
			rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
		}
		out = append(out, rc)
	}
	return out
}

func (s *Server) describeBroker(want func(string) bool) []kmsg.DescribeConfigsResponseResourceConfig {
	defaults := s.topics.Defaults()
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, k := range partition.ConfigKeys() {
		name := brokerConfigNames[k]
		if !want(name) {
			continue
		}
		rc := kmsg.NewDescribeConfigsResponseResourceConfig()
		v := defaults[k]
		rc.Name, rc.Value, rc.ReadOnly = name, &v, true
		rc.Source = kmsg.ConfigSourceStaticBrokerConfig
		rc.ConfigType = configType(k)
		out = append(out, rc)
	}
	return out
}

func configType(key string) kmsg.ConfigType {
	switch key {
	case "cleanup.policy":
		return kmsg.ConfigTypeList
	case "max.message.bytes", "segment.bytes":
		return kmsg.ConfigTypeInt
	default:
		return kmsg.ConfigTypeLong
	}
}
