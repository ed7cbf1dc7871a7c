package broker

// AlterUserScramCredentials (key 51), version 0 (KIP-554; the only one).
//
// Deletes and upserts users' SCRAM credentials. An upsertion carries the
// salt and the salted password (Hi(password, salt, iterations), computed
// by the client), so the password never crosses the network; the broker
// derives and stores the stored and server keys only. Kafka's answers: a
// user named twice in one request DUPLICATE_RESOURCE, an unknown
// mechanism UNSUPPORTED_SASL_MECHANISM, iterations outside 4096-16384 or
// an empty salt UNACCEPTABLE_CREDENTIAL, deleting a missing credential
// RESOURCE_NOT_FOUND. Needs ALTER on the cluster. Every change is logged
// with who made it, never with the credential.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var alterUserScramCredentialsAPI = api{key: 51, name: "AlterUserScramCredentials", minVersion: 0, maxVersion: 0, handle: handleAlterUserScramCredentials}

func handleAlterUserScramCredentials(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	allowed := c.mayCluster(kmsg.ACLOperationAlter)
	seen := map[string]int{}
	for _, d := range req.Deletions {
		seen[d.Name]++
	}
	for _, u := range req.Upsertions {
		seen[u.Name]++
	}
	result := func(user string, err error, code int16) {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User, r.ErrorCode, r.ErrorMessage = user, code, errorMessage(err)
		resp.Results = append(resp.Results, r)
	}
	users := c.s.sec.users
	for _, d := range req.Deletions {
		mech := scramMechanisms[d.Mechanism]
		switch {
		case !allowed:
			result(d.Name, nil, kerr.ClusterAuthorizationFailed.Code)
		case seen[d.Name] > 1:
			result(d.Name, fmt.Errorf("user %s altered more than once in one request", d.Name), kerr.DuplicateResource.Code)
		case mech == "":
			result(d.Name, fmt.Errorf("unknown SCRAM mechanism %d", d.Mechanism), kerr.UnsupportedSaslMechanism.Code)
		default:
			err := users.Delete(d.Name, mech)
			if errors.Is(err, auth.ErrNoCredential) {
				result(d.Name, fmt.Errorf("user %s has no %s credential", d.Name, mech), kerr.ResourceNotFound.Code)
				continue
			}
			if err == nil {
				c.adminLog("deleted SCRAM credential", "user", d.Name, "mechanism", mech)
			}
			result(d.Name, err, storeCode(err))
		}
	}
	for _, u := range req.Upsertions {
		mech := scramMechanisms[u.Mechanism]
		switch {
		case !allowed:
			result(u.Name, nil, kerr.ClusterAuthorizationFailed.Code)
		case seen[u.Name] > 1:
			result(u.Name, fmt.Errorf("user %s altered more than once in one request", u.Name), kerr.DuplicateResource.Code)
		case mech == "":
			result(u.Name, fmt.Errorf("unknown SCRAM mechanism %d", u.Mechanism), kerr.UnsupportedSaslMechanism.Code)
		case u.Name == "":
			result(u.Name, errors.New("empty user name"), kerr.UnacceptableCredential.Code)
		default:
			cred, err := auth.CredentialFromSalted(mech, u.Salt, u.SaltedPassword, int(u.Iterations))
			if err != nil {
				result(u.Name, err, kerr.UnacceptableCredential.Code)
				continue
			}
			if err = users.Set(u.Name, mech, cred); err == nil {
				c.adminLog("set SCRAM credential", "user", u.Name, "mechanism", mech, "iterations", u.Iterations)
			}
			result(u.Name, err, storeCode(err))
		}
	}
	return ready(resp)
}

// storeCode is the code of a failed write of a security store.
func storeCode(err error) int16 {
	if err == nil {
		return 0
	}
	return kerr.UnknownServerError.Code
}
