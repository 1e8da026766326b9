package cniplugin_test

import (
	"fmt"

	"github.com/linx-net/linx/internal/cniplugin"
)

// The names of the scopes and the host veth of one pod's attachment.
func ExampleConfig_AttachmentOf() {
	c, err := cniplugin.ParseConfig([]byte(`{"cniVersion": "1.1.0", "name": "linxnet",
		"type": "linx-cni", "ipam": {"type": "host-local"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	at := c.AttachmentOf("pod-00", "eth0")
	fmt.Println(c.NetworkScope(), at.HostScope, at.PodScope, at.HostVeth)
	// Output: cni-linxnet cni-linxnet-4aec1644e4 cni-linxnet-4aec1644e4-c lx4aec1644e4
}
