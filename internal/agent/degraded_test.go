package agent

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
)

// An agent whose scope desires an impossible link (this kernel has no
// dummy) and a route another writer's route holds is ready once its first
// pass ran: /readyz answers 200 and names the degraded scope and why,
// instead of 503 forever, and linx_objects counts its objects by state.
func TestDegradedScopeIsReady(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP("link", "set", "v0", "up")
	ns.IP("route", "add", "10.60.0.0/24", "dev", "v0", "proto", "static")
	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	body := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"127.0.0.1:0\"}\nscopes:\n" +
		"  - name: lab\n    netns: path:" + ns.Path() + "\n    interval: 1h\n    desired:\n" +
		"      links: [{name: d0, kind: dummy}, {name: v0}]\n" +
		"      addresses: [{link: v0, address: 10.2.0.1/24}, {link: d0, address: 10.1.0.1/24}]\n" +
		"      routes: [{dst: 10.60.0.0/24, dev: v0}]\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, path)
	runAgent(t, a)
	get := func(p string) (int, string) {
		t.Helper()
		addr := a.MetricsAddr()
		if addr == nil {
			return 0, ""
		}
		resp, err := http.Get("http://" + addr.String() + p)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var code int
	var ready string
	eventually(t, "/readyz 200 naming lab as degraded", func() bool {
		code, ready = get("/readyz")
		return code == 200 && strings.Contains(ready, "degraded: lab: 1 failed, 1 blocked, 1 conflict")
	})
	if !slices.Contains(addrs(ns, "v0"), "10.2.0.1/24") {
		t.Errorf("v0's address did not converge: %v", addrs(ns, "v0"))
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`linx_objects{kind="link",scope="lab",state="failed"} 1`,
		`linx_objects{kind="link",scope="lab",state="converged"} 1`,
		`linx_objects{kind="address",scope="lab",state="blocked"} 1`,
		`linx_objects{kind="address",scope="lab",state="converged"} 1`,
		`linx_objects{kind="route",scope="lab",state="conflict"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	st, err := a.Node().Status("lab")
	if err != nil || st.GetPhase().String() != "PHASE_DEGRADED" {
		t.Errorf("status: %v, %v; want degraded", st, err)
	}
}
