package broker

// DeleteGroups (key 42), versions 0-3.
//
// sarama's ClusterAdmin and franz-go's kadm send it. Only a group without
// members can be deleted (NON_EMPTY_GROUP otherwise; GROUP_ID_NOT_FOUND
// for none); its offsets and metadata are removed with tombstones in
// __consumer_offsets and the answer waits until they are durable. v3 adds
// an error message.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var deleteGroupsAPI = api{key: 42, name: "DeleteGroups", minVersion: 0, maxVersion: 3, handle: handleDeleteGroups}

func handleDeleteGroups(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	chans := make([]<-chan error, len(req.Groups))
	denied := make([]bool, len(req.Groups))
	for i, id := range req.Groups {
		if denied[i] = !c.mayGroup(kmsg.ACLOperationDelete, id); !denied[i] {
			if co, err := c.s.coordinator(id); err != nil {
				ch := make(chan error, 1)
				ch <- err
				chans[i] = ch
			} else {
				chans[i] = co.Delete(id)
			}
		}
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for i, id := range req.Groups {
			var err error
			if denied[i] {
				err = errGroupAuthorization
			} else if res, aerr := awaitGroup(c, ctx, chans[i], false); aerr != nil {
				err = aerr
			} else {
				err = res
			}
			if err == nil {
				c.adminLog("deleted group", "group", id)
			}
			sg := kmsg.NewDeleteGroupsResponseGroup()
			sg.Group, sg.ErrorCode, sg.ErrorMessage = id, groupErrorCode(err), errorMessage(err)
			resp.Groups = append(resp.Groups, sg)
		}
		return resp
	})
}
