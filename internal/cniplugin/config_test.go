package cniplugin

import (
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"cniVersion": "1.1.0", "name": "n", "type": "linx-cni", "ipam": {"type": "host-local"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bridge != DefaultBridge || c.MTU != DefaultMTU || c.Socket != "/run/linx/linx.sock" || c.timeout != DefaultTimeout || c.HostNetns != "" {
		t.Errorf("defaults: %+v", c)
	}
	if got := c.hostNamespace().GetHost(); !got {
		t.Errorf("an empty hostNetns is the agent's own namespace, got %v", c.hostNamespace())
	}
}

// TestParseConfigErrors: each bad field is a CNI error with code 7 (6 for
// JSON that does not decode) naming the field and quoting the value.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`{"ipam": {"type": "host-local"}}`, "name is empty"},
		{`{"name": "a/b", "ipam": {"type": "host-local"}}`, `name "a/b"`},
		{`{"name": "n", "bridge": "a-bridge-name-too-long", "ipam": {"type": "host-local"}}`, `bridge "a-bridge-name-too-long"`},
		{`{"name": "n", "socket": "run/linx.sock", "ipam": {"type": "host-local"}}`, `socket "run/linx.sock"`},
		{`{"name": "n", "hostNetns": "netns", "ipam": {"type": "host-local"}}`, `hostNetns "netns"`},
		{`{"name": "n", "mtu": 12, "ipam": {"type": "host-local"}}`, "mtu 12"},
		{`{"name": "n", "timeout": "soon", "ipam": {"type": "host-local"}}`, `timeout "soon"`},
		{`{"name": "n"}`, "ipam.type is empty"},
	} {
		_, err := ParseConfig([]byte(tc.conf))
		var te *types.Error
		if !errors.As(err, &te) || te.Code != types.ErrInvalidNetworkConfig || !strings.Contains(te.Msg, tc.want) {
			t.Errorf("ParseConfig(%s) = %v; want code 7 with %q", tc.conf, err, tc.want)
		}
	}
	_, err := ParseConfig([]byte(`{"name": `))
	var te *types.Error
	if !errors.As(err, &te) || te.Code != types.ErrDecodingFailure {
		t.Errorf("ParseConfig of broken JSON = %v; want code 6", err)
	}
}

func TestAttachmentNames(t *testing.T) {
	c := &Config{}
	c.Name = "linxnet"
	at := c.AttachmentOf("pod-00", "eth0")
	// sha256("pod-00/eth0"), as `printf pod-00/eth0 | sha256sum` gives it.
	if at.Hash != "4aec1644e4" {
		t.Errorf("hash %s", at.Hash)
	}
	if at.HostScope != "cni-linxnet-"+at.Hash || at.PodScope != at.HostScope+"-c" || at.HostVeth != "lx"+at.Hash || len(at.HostVeth) > 15 {
		t.Errorf("names %+v", at)
	}
	for _, name := range []string{at.HostScope, at.PodScope} {
		if h, ok := c.attachmentHash(name); !ok || h != at.Hash {
			t.Errorf("attachmentHash(%s) = %s, %v", name, h, ok)
		}
	}
	for _, name := range []string{"cni-linxnet", "cni-other-" + at.Hash, "cni-linxnet-xyz", "cni-linxnet-" + at.Hash + "-d", "web"} {
		if h, ok := c.attachmentHash(name); ok {
			t.Errorf("attachmentHash(%s) = %s: not an attachment of linxnet", name, h)
		}
	}
}

// TestSpecs checks the three scopes' desired states for a dual-stack
// IPAM result, as protojson text.
func TestSpecs(t *testing.T) {
	c, err := ParseConfig([]byte(`{"cniVersion": "1.1.0", "name": "n", "mtu": 1400, "isDefaultGateway": true,
		"hostNetns": "/run/netns/node", "ipam": {"type": "host-local"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, v4, _ := net.ParseCIDR("10.22.0.5/24")
	v4.IP = net.ParseIP("10.22.0.5")
	_, v6, _ := net.ParseCIDR("fd00::5/64")
	v6.IP = net.ParseIP("fd00::5")
	_, extra, _ := net.ParseCIDR("192.0.2.0/24")
	res := &types100.Result{
		IPs: []*types100.IPConfig{
			{Address: *v4, Gateway: net.ParseIP("10.22.0.1")},
			{Address: *v6, Gateway: net.ParseIP("fd00::1")},
		},
		Routes: []*types.Route{{Dst: *extra}},
	}
	ips, err := ipConfigs(res)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := c.podRoutes(res, ips)
	if err != nil {
		t.Fatal(err)
	}
	at := c.AttachmentOf("pod", "eth0")
	got := []string{
		protojson.Format(c.networkSpec(ips)),
		protojson.Format(c.hostSpec(at, "/run/netns/pod", "eth0")),
		protojson.Format(c.podSpec(at, "/run/netns/pod", "eth0", ips, routes)),
	}
	want := []string{
		`{"name":"cni-n","namespace":{"path":"/run/netns/node"},"desired":{"links":[{"name":"linx0","kind":"bridge","mtu":1400,"up":true}],"addresses":[{"link":"linx0","address":"10.22.0.1/24"},{"link":"linx0","address":"fd00::1/64"}]},"options":{"noRoutes":true}}`,
		`{"name":"cni-n-` + at.Hash + `","namespace":{"path":"/run/netns/node"},"desired":{"links":[{"name":"lx` + at.Hash + `","kind":"veth","mtu":1400,"master":"linx0","up":true,"veth":{"peer":"eth0","peerNamespace":{"path":"/run/netns/pod"}}}]},"options":{"noRoutes":true}}`,
		`{"name":"cni-n-` + at.Hash + `-c","namespace":{"path":"/run/netns/pod"},"desired":{"links":[{"name":"eth0","mtu":1400,"up":true}],"addresses":[{"link":"eth0","address":"10.22.0.5/24"},{"link":"eth0","address":"fd00::5/64"}],"routes":[{"dst":"192.0.2.0/24","via":"10.22.0.1","dev":"eth0"},{"dst":"default","via":"10.22.0.1","dev":"eth0","family":"inet"},{"dst":"default","via":"fd00::1","dev":"eth0","family":"inet6"}]}}`,
	}
	space := regexp.MustCompile(`\s+`)
	for i := range want {
		if g := space.ReplaceAllString(got[i], ""); g != want[i] {
			t.Errorf("spec %d:\n got %s\nwant %s", i, g, want[i])
		}
	}

	// IPAM's own default route is kept, not doubled.
	_, def, _ := net.ParseCIDR("0.0.0.0/0")
	res.Routes = []*types.Route{{Dst: *def}}
	routes, err = c.podRoutes(res, ips)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 2 || routes[0].GW.String() != "10.22.0.1" || routes[1].GW.String() != "fd00::1" {
		t.Errorf("routes with IPAM's default: %v", routes)
	}
}

// TestReadmeConflist: the example network configuration in the README is
// one libcni loads and linx-cni accepts.
func TestReadmeConflist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)An example `10-linx.conflist`:\n\n```json\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("no example conflist in the README")
	}
	list, err := libcni.ConfListFromBytes(m[1])
	if err != nil {
		t.Fatalf("the README's conflist: %v", err)
	}
	if len(list.Plugins) != 1 || list.Plugins[0].Network.Type != "linx-cni" {
		t.Fatalf("the README's conflist has plugins %v", list.Plugins)
	}
	// What libcni hands the plugin: the list's name and version injected.
	conf, err := libcni.InjectConf(list.Plugins[0], map[string]any{"name": list.Name, "cniVersion": list.CNIVersion})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig(conf.Bytes); err != nil {
		t.Errorf("linx-cni refuses the README's conflist: %v", err)
	}
}
