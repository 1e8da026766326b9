package cniplugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/linx-net/linx/client"
)

// Defaults of the network configuration; each applies when its field is
// unset or zero.
const (
	// DefaultBridge is the bridge's name.
	DefaultBridge = "linx0"
	// DefaultMTU is the MTU of the bridge and both veth ends: Ethernet's.
	DefaultMTU = 1500
	// DefaultTimeout bounds ADD's and DEL's wait for the agent's passes:
	// a pass in a pod's fresh namespace takes milliseconds, so only an
	// agent that is overloaded or cannot converge comes near it.
	DefaultTimeout = 15 * time.Second
)

// Config is linx-cni's network configuration, as the runtime passes it
// on standard input:
//
//	{"cniVersion": "1.1.0", "name": "linxnet", "type": "linx-cni",
//	 "bridge": "linx0", "socket": "/run/linx/linx.sock", "mtu": 1500,
//	 "isDefaultGateway": true,
//	 "ipam": {"type": "host-local", "subnet": "10.22.0.0/16"}}
type Config struct {
	types.PluginConf
	// Bridge is the bridge's name; DefaultBridge when empty.
	Bridge string `json:"bridge,omitempty"`
	// Socket is the agent's local socket; client.DefaultSocket when
	// empty.
	Socket string `json:"socket,omitempty"`
	// HostNetns is the path of the namespace that holds the bridge and
	// the host ends of the veths; empty means the agent's own namespace.
	HostNetns string `json:"hostNetns,omitempty"`
	// MTU of the bridge and of both ends of each veth; DefaultMTU when 0.
	MTU int `json:"mtu,omitempty"`
	// IsDefaultGateway adds, in the pod, a default route through the
	// gateway of each address family IPAM gives a gateway for.
	IsDefaultGateway bool `json:"isDefaultGateway,omitempty"`
	// Timeout bounds the wait for the agent's passes, as a Go duration
	// ("15s"); DefaultTimeout when empty.
	Timeout string `json:"timeout,omitempty"`

	timeout time.Duration
}

// ParseConfig decodes and validates a network configuration and fills
// in the defaults. It returns a CNI error with code 7
// (ErrInvalidNetworkConfig) naming the bad field.
func ParseConfig(stdin []byte) (*Config, error) {
	c := &Config{}
	if err := json.Unmarshal(stdin, c); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "linx-cni: decoding the network configuration", err.Error())
	}
	bad := func(format string, args ...any) error {
		return types.NewError(types.ErrInvalidNetworkConfig, "linx-cni: "+fmt.Sprintf(format, args...), "")
	}
	if c.Name == "" {
		return nil, bad("name is empty")
	}
	if strings.ContainsAny(c.Name, "/ \t\n") {
		return nil, bad("name %q has a slash or a space: it names the agent's scopes", c.Name)
	}
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
	if len(c.Bridge) > 15 || strings.ContainsAny(c.Bridge, "/ \t\n:") {
		return nil, bad("bridge %q is not an interface name (at most 15 bytes, no '/', ':' or space)", c.Bridge)
	}
	if c.Socket == "" {
		c.Socket = client.DefaultSocket
	}
	if !filepath.IsAbs(c.Socket) {
		return nil, bad("socket %q is not an absolute path", c.Socket)
	}
	if c.HostNetns != "" && !filepath.IsAbs(c.HostNetns) {
		return nil, bad("hostNetns %q is not an absolute path", c.HostNetns)
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.MTU < 68 || c.MTU > 65535 {
		return nil, bad("mtu %d is out of range (68 to 65535)", c.MTU)
	}
	c.timeout = DefaultTimeout
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			return nil, bad("timeout %q is not a positive duration such as \"15s\"", c.Timeout)
		}
		c.timeout = d
	}
	if c.IPAM.Type == "" {
		return nil, bad("ipam.type is empty: linx-cni delegates addresses to an IPAM plugin such as host-local")
	}
	return c, nil
}

// NetworkScope returns the name of the network's scope: cni-NAME.
func (c *Config) NetworkScope() string { return "cni-" + c.Name }

// Attachment names the scopes and the host veth of one attachment.
type Attachment struct {
	// Hash is the first ten hex digits of sha256(containerID/ifname).
	Hash string
	// HostScope is cni-NAME-HASH, in the host namespace.
	HostScope string
	// PodScope is cni-NAME-HASH-c, in the pod's namespace.
	PodScope string
	// HostVeth is lxHASH, the host end of the veth.
	HostVeth string
}

// AttachmentOf returns the names of the attachment of containerID's
// interface ifname to the network.
func (c *Config) AttachmentOf(containerID, ifname string) Attachment {
	sum := sha256.Sum256([]byte(containerID + "/" + ifname))
	return c.attachment(hex.EncodeToString(sum[:])[:10])
}

// attachment returns the attachment of hash h: its scopes and host veth.
func (c *Config) attachment(h string) Attachment {
	return Attachment{
		Hash:      h,
		HostScope: c.NetworkScope() + "-" + h,
		PodScope:  c.NetworkScope() + "-" + h + "-c",
		HostVeth:  "lx" + h,
	}
}

// attachmentHash returns the hash of a scope name of this network's
// attachments (cni-NAME-HASH or cni-NAME-HASH-c), and whether it is one.
func (c *Config) attachmentHash(scope string) (string, bool) {
	rest, ok := strings.CutPrefix(scope, c.NetworkScope()+"-")
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "-c")
	if len(rest) != 10 {
		return "", false
	}
	if _, err := hex.DecodeString(rest); err != nil {
		return "", false
	}
	return rest, true
}
