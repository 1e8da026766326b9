package cni_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/agent"
	"github.com/linx-net/linx/internal/nstest"
)

// linxCNI is the linx-cni binary TestMain builds; pluginDir holds the
// reference plugins (bin/cni of the repository).
var linxCNIDir, pluginDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "linx-cni-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	out, err := exec.Command("go", "build", "-o", filepath.Join(tmp, "linx-cni"), "github.com/linx-net/linx/cmd/linx-cni").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building linx-cni: %v\n%s", err, out)
		return 1
	}
	linxCNIDir = tmp
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err == nil {
		pluginDir = filepath.Join(strings.TrimSpace(string(root)), "bin", "cni")
	}
	return m.Run()
}

// requirePlugins skips t, loudly, when the reference plugins are not
// built.
func requirePlugins(t *testing.T) {
	t.Helper()
	nstest.RequireRoot(t)
	for _, p := range []string{"host-local", "bridge"} {
		if _, err := os.Stat(filepath.Join(pluginDir, p)); err != nil {
			t.Skipf("SKIPPED: the reference CNI plugin %s is not in %s: run `make cni-plugins` first (%v)", p, pluginDir, err)
		}
	}
}

// node is a Linx agent and a throwaway host namespace for it.
type node struct {
	host   *nstest.NS
	socket string
	agent  *agent.Agent
	cni    *libcni.CNIConfig
	ipam   string // host-local's data directory
	state  string // the agent's state directory
}

// startNode makes a host namespace and starts an agent whose socket and
// state live in temporary directories. The agent stops in t.Cleanup,
// before the namespaces made earlier are removed.
func startNode(t *testing.T) *node {
	t.Helper()
	n := &node{host: nstest.New(t)}
	dir := t.TempDir()
	n.socket = filepath.Join(dir, "run", "linx.sock")
	n.ipam = filepath.Join(dir, "ipam")
	n.state = filepath.Join(dir, "state")
	cfg, err := config.Parse("linx.yaml", []byte(fmt.Sprintf(`state_dir: %s
metrics: {listen: "off"}
api:
  socket: %s
  limits:
    requests_per_second: 5000
    burst: 5000
    max_connections_per_source: 200
scopes: []
`, filepath.Join(dir, "state"), n.socket)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(agentLog(t), nil)), API: agent.ServeAPI, NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	n.agent = a
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(n.socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's socket %s did not appear", n.socket)
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.cni = newCNI([]string{linxCNIDir, pluginDir}, filepath.Join(dir, "cache"))
	return n
}

// linxList is the network configuration list of linx-cni on n.
func (n *node) linxList(t *testing.T, name string) *libcni.NetworkConfigList {
	t.Helper()
	return parseList(t, fmt.Sprintf(`{"cniVersion": "1.1.0", "name": %q, "plugins": [{
  "type": "linx-cni", "bridge": "linx0", "socket": %q, "hostNetns": %q,
  "mtu": 1400, "isDefaultGateway": true,
  "ipam": {"type": "host-local", "dataDir": %q,
    "ranges": [[{"subnet": "10.22.0.0/24"}], [{"subnet": "fd22::/64"}]],
    "routes": [{"dst": "192.0.2.0/24"}]}}]}`, name, n.socket, n.host.Path(), n.ipam))
}

// refList is the same network through the reference bridge plugin.
func refList(t *testing.T, ipamDir string) *libcni.NetworkConfigList {
	t.Helper()
	return parseList(t, fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "refnet", "plugins": [{
  "type": "bridge", "bridge": "linx0", "mtu": 1400, "isDefaultGateway": true,
  "ipam": {"type": "host-local", "dataDir": %q,
    "ranges": [[{"subnet": "10.22.0.0/24"}], [{"subnet": "fd22::/64"}]],
    "routes": [{"dst": "192.0.2.0/24"}]}}]}`, ipamDir))
}

func parseList(t *testing.T, js string) *libcni.NetworkConfigList {
	t.Helper()
	l, err := libcni.ConfListFromBytes([]byte(js))
	if err != nil {
		t.Fatalf("network configuration list: %v\n%s", err, js)
	}
	return l
}

// rt is the runtime configuration of pod i in namespace ns.
func rt(i int, ns *nstest.NS) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: fmt.Sprintf("pod-%02d", i), NetNS: ns.Path(), IfName: "eth0"}
}

// inNamespace runs fn on a goroutine locked to a thread that entered the
// namespace at path; the plugins fn executes inherit it. The thread is
// never unlocked, so the runtime discards it when the goroutine ends
// instead of reusing a thread left in another namespace.
func inNamespace(t *testing.T, path string, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		defer func() { errc <- nil }()
		fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// ipLink, ipAddr and ipRoute are the fields of `ip -j` compared between
// the two plugins.
type ipAddrInfo struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	PrefixLen int    `json:"prefixlen"`
	Scope     string `json:"scope"`
}

type ipLink struct {
	IfName    string       `json:"ifname"`
	Flags     []string     `json:"flags"`
	MTU       int          `json:"mtu"`
	OperState string       `json:"operstate"`
	LinkType  string       `json:"link_type"`
	AddrInfo  []ipAddrInfo `json:"addr_info"`
	Master    string       `json:"master,omitempty"`
	LinkInfo  struct {
		InfoKind string `json:"info_kind"`
	} `json:"linkinfo"`
}

type ipRoute struct {
	Dst      string   `json:"dst"`
	Gateway  string   `json:"gateway"`
	Dev      string   `json:"dev"`
	Scope    string   `json:"scope"`
	PrefSrc  string   `json:"prefsrc"`
	Flags    []string `json:"flags"`
	Protocol string   `json:"protocol"`
}

// podSide is the container side of a pod as text: eth0's link settings
// (no MAC) and IPv4 addresses, and the IPv4 main table without the
// routes' protocols (Linx marks its own with rtm_protocol 76).
func podSide(t *testing.T, ns *nstest.NS) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "-d", "link", "show", "dev", "eth0").Output()
	if err != nil {
		return fmt.Sprintf("no eth0: %v", err)
	}
	var ls []ipLink
	if err := json.Unmarshal(out, &ls); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "link %s kind %s type %s mtu %d state %s flags %v master %q\n",
			l.IfName, l.LinkInfo.InfoKind, l.LinkType, l.MTU, l.OperState, l.Flags, l.Master)
	}
	var addrs []ipLink
	ns.JSON(&addrs, "addr", "show", "dev", "eth0", "scope", "global")
	for _, l := range addrs {
		for _, a := range l.AddrInfo {
			if a.Local == "" {
				continue // iproute2 prints {} for an address its filter left out
			}
			fmt.Fprintf(&b, "addr %s %s/%d scope %s\n", a.Family, a.Local, a.PrefixLen, a.Scope)
		}
	}
	lines := []string{}
	for _, family := range []string{"-4", "-6"} {
		var routes []ipRoute
		ns.JSON(&routes, family, "route", "show", "table", "main")
		for _, r := range routes {
			if strings.HasPrefix(r.Dst, "fe80:") || strings.HasPrefix(r.Dst, "ff00:") {
				continue // the kernel's link-local and multicast routes
			}
			lines = append(lines, fmt.Sprintf("route %s %s via %q dev %s scope %q src %q flags %v", family, r.Dst, r.Gateway, r.Dev, r.Scope, r.PrefSrc, r.Flags))
		}
	}
	slices.Sort(lines)
	b.WriteString(strings.Join(lines, "\n"))
	return b.String()
}

// links lists the names of the links of ns.
func links(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	var ls []ipLink
	ns.JSON(&ls, "link", "show")
	var names []string
	for _, l := range ls {
		names = append(names, l.IfName)
	}
	slices.Sort(names)
	return names
}

// hostState is the real host namespace's links, addresses and routes,
// read only, to show that the tests left it as it was.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{{"-j", "link", "show"}, {"-j", "addr", "show"}, {"-j", "route", "show", "table", "all"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		// Counters move; keep what a test could change.
		var v []map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		for _, o := range v {
			for _, k := range []string{"stats64", "stats", "expires"} {
				delete(o, k)
			}
			if ai, ok := o["addr_info"].([]any); ok {
				for _, a := range ai {
					if m, ok := a.(map[string]any); ok {
						delete(m, "valid_life_time")
						delete(m, "preferred_life_time")
					}
				}
			}
		}
		js, _ := json.Marshal(v)
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

// eventually polls cond every 20 ms until it holds or 15 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// osexec runs a command and returns its combined output.
func osexec(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// agentLog is where the agent's logs go: the file LINX_CNI_AGENT_LOG
// names, for debugging, or nowhere.
func agentLog(t *testing.T) io.Writer {
	p := os.Getenv("LINX_CNI_AGENT_LOG")
	if p == "" {
		return io.Discard
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// newCNI is libcni's CNIConfig with its executor set: libcni makes a
// missing one lazily, without a lock, which races when a runtime (or a
// test) adds pods from several goroutines.
func newCNI(path []string, cacheDir string) *libcni.CNIConfig {
	return libcni.NewCNIConfigWithCacheDir(path, cacheDir, &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: os.Stderr},
		PluginDecoder: version.PluginDecoder{},
	})
}
