package broker

// DescribeUserScramCredentials (key 50), version 0 (KIP-554; the only one).
//
// Lists users' SCRAM mechanisms and iteration counts, never the
// credentials: all users for a null list, else those named (an unknown
// one gets RESOURCE_NOT_FOUND, a name given twice DUPLICATE_RESOURCE, as
// Kafka answers). Needs DESCRIBE on the cluster. Mechanism codes are
// Kafka's: 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var describeUserScramCredentialsAPI = api{key: 50, name: "DescribeUserScramCredentials", minVersion: 0, maxVersion: 0, handle: handleDescribeUserScramCredentials}

// scramMechanisms maps Kafka's SCRAM mechanism codes to their names.
var scramMechanisms = map[int8]string{1: auth.ScramSHA256, 2: auth.ScramSHA512}

func scramMechanismCode(name string) int8 {
	for code, n := range scramMechanisms {
		if n == name {
			return code
		}
	}
	return 0
}

func handleDescribeUserScramCredentials(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !c.mayCluster(kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return ready(resp)
	}
	users := c.s.sec.users
	if req.Users == nil {
		for _, u := range users.List() {
			resp.Results = append(resp.Results, describedUser(u))
		}
		return ready(resp)
	}
	seen := map[string]int{}
	for _, ru := range req.Users {
		seen[ru.Name]++
	}
	for _, ru := range req.Users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = ru.Name
		switch list := users.List(ru.Name); {
		case seen[ru.Name] > 1:
			r.ErrorCode = kerr.DuplicateResource.Code
			r.ErrorMessage = errorMessage(fmt.Errorf("user %s named more than once", ru.Name))
		case len(list) == 0:
			r.ErrorCode = kerr.ResourceNotFound.Code
			r.ErrorMessage = errorMessage(fmt.Errorf("user %s has no SCRAM credentials", ru.Name))
		default:
			r = describedUser(list[0])
		}
		resp.Results = append(resp.Results, r)
	}
	return ready(resp)
}

func describedUser(u auth.UserInfo) kmsg.DescribeUserSCRAMCredentialsResponseResult {
	r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
	r.User = u.Name
	for _, ci := range u.Credentials {
		info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		info.Mechanism, info.Iterations = scramMechanismCode(ci.Mechanism), int32(ci.Iterations)
		r.CredentialInfos = append(r.CredentialInfos, info)
	}
	return r
}
