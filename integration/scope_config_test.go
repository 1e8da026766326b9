package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
)

// TestScopeCommandsFromConfig drives an agent process (started with no
// scopes) with `linx-node scope spawn --config` and `linx-node scope
// update --config`: scopes come from a configuration file, with state only
// the full message form carries (a blackhole route, a preferred source, a
// macvtap link), and are checked in the kernel with ip.
func TestScopeCommandsFromConfig(t *testing.T) {
	bin := agentBuild(t)
	nsWeb, nsDB := nstest.New(t), nstest.New(t)
	dir := t.TempDir()
	path, _ := agentConfig(t, dir)
	sock := agentSocket(path)
	p := agentStart(t, bin, path)
	agentWaitSocket(t, p, sock)

	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := agentExit(t, bin, append(args, "--socket", sock)...)
		if code != wantCode {
			t.Fatalf("linx-node %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}

	// The controller's file: not the agent's own.
	scopes := filepath.Join(dir, "scopes.yaml")
	write := func(holeType, webAddr string) {
		t.Helper()
		web := agentScope("web", nsWeb, "1h", ""+
			"      links:\n"+
			"        - {name: v0, kind: veth, peer: v1, up: true}\n"+
			"        - {name: v1, up: true}\n"+
			"        - {name: mt0, kind: macvtap, parent: v0, mode: private}\n"+
			"      addresses: [{link: v0, address: "+webAddr+"}]\n"+
			"      routes:\n"+
			"        - {dst: 10.9.0.0/24, type: "+holeType+"}\n"+
			"        - {dst: 10.10.0.0/24, dev: v0, src: "+strings.Split(webAddr, "/")[0]+"}\n")
		db := agentScope("db", nsDB, "1h", "      addresses: [{link: lo, address: 10.66.0.1/32}]\n")
		body := "scopes:\n" + web + db
		if err := os.WriteFile(scopes, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("blackhole", "10.77.0.1/24")

	out := run(0, "scope", "spawn", "--config", scopes, "web")
	if !strings.Contains(out, "scope web spawned") {
		t.Errorf("spawn output: %q", out)
	}
	scopeRoutesEventually(t, nsWeb, "web spawned", func(rs map[string]scopeRoute) bool {
		return isRouteType(rs["10.9.0.0/24"].Type, "blackhole", unix.RTN_BLACKHOLE) &&
			rs["10.10.0.0/24"].PrefSrc == "10.77.0.1" &&
			slices.Contains(agentAddrs(nsWeb, "v0"), "10.77.0.1/24") &&
			scopeLinkKind(nsWeb, "mt0") == "macvtap"
	})
	if list := run(0, "scope", "list"); strings.Contains(list, "db") {
		t.Errorf("only web was named, but db runs:\n%s", list)
	}

	// Without NAME, every scope of the file: web is running and refused
	// (exit 1), db is spawned all the same.
	out = run(1, "scope", "spawn", "--config", scopes)
	if !strings.Contains(out, "scope db spawned") || !strings.Contains(out, "web") {
		t.Errorf("spawn of all scopes: %q", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Contains(agentAddrs(nsDB, "lo"), "10.66.0.1/32") {
		if time.Now().After(deadline) {
			t.Fatalf("db never converged: lo has %v", agentAddrs(nsDB, "lo"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An update changes the route type and the address, in place.
	write("unreachable", "10.77.0.2/24")
	out = run(0, "scope", "update", "--config", scopes, "web")
	if !strings.Contains(out, "scope web updated") {
		t.Errorf("update output: %q", out)
	}
	scopeRoutesEventually(t, nsWeb, "web updated", func(rs map[string]scopeRoute) bool {
		got := agentAddrs(nsWeb, "v0")
		return isRouteType(rs["10.9.0.0/24"].Type, "unreachable", unix.RTN_UNREACHABLE) &&
			rs["10.10.0.0/24"].PrefSrc == "10.77.0.2" &&
			slices.Contains(got, "10.77.0.2/24") && !slices.Contains(got, "10.77.0.1/24")
	})

	// Usage errors (exit 2): a name the file lacks, -f with --config,
	// update without --config, a file that does not load.
	run(2, "scope", "update", "--config", scopes, "nope")
	run(2, "scope", "spawn", "--config", scopes, "-f", scopes)
	run(2, "scope", "spawn", "--config", scopes, "--netns", "host")
	run(2, "scope", "update", "web")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("scopes: [{name: x, netns: sideways}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(2, "scope", "spawn", "--config", bad); !strings.Contains(out, "bad.yaml:1") {
		t.Errorf("a bad file's problem is not located: %q", out)
	}

	// A stopped scope cannot be updated (exit 1); spawn brings it back.
	run(0, "scope", "stop", "db")
	run(1, "scope", "update", "--config", scopes, "db")
	run(0, "scope", "spawn", "--config", scopes, "db")
	p.stop()
}

// agentAppendTLSAPI gives the agent's configuration the message API over
// TCP on loopback, with mutual TLS from a throwaway CA, and
// returns the client option of a controller certificate (read only: no
// rule names it).
func agentAppendTLSAPI(t *testing.T, path string) client.Option {
	t.Helper()
	ca := apitest.NewCA(t, "linx-test")
	node, ctl := ca.Issue("agent"), ca.Issue("controller")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	api := fmt.Sprintf("api:\n  socket: off\n  listen: 127.0.0.1:0\n  tls: {cert: %s, key: %s, client_ca: %s}\n",
		node.CertFile, node.KeyFile, ca.CertFile)
	// In place of agentWrite's api section (its socket).
	cfg := strings.Replace(string(data), "api:\n  socket: "+agentSocket(path)+"\n", api, 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return client.WithTLS(ctl.CertFile, ctl.KeyFile, ca.CertFile)
}

// agentWaitSocket waits until the agent p serves its socket.
func agentWaitSocket(t *testing.T, p *agentProc, sock string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.stderr.String(), "message API listening on the local socket") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent does not serve its socket %s:\n%s", sock, p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scopeRoute is a route as `ip -N -j route show` prints it.
type scopeRoute struct {
	Dst     string `json:"dst"`
	Type    string `json:"type"`
	PrefSrc string `json:"prefsrc"`
}

// scopeRoutesEventually waits until cond holds for the IPv4 routes of the
// main table of ns (by destination).
func scopeRoutesEventually(t *testing.T, ns *nstest.NS, what string, cond func(map[string]scopeRoute) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list []scopeRoute
		ns.JSON(&list, "-4", "route", "show", "table", "main")
		rs := map[string]scopeRoute{}
		for _, r := range list {
			rs[r.Dst] = r
		}
		if cond(rs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: routes %+v", what, rs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scopeLinkKind returns the kind of link name in ns, "" if it is missing.
func scopeLinkKind(ns *nstest.NS, name string) string {
	var links []struct {
		Info struct {
			Kind string `json:"info_kind"`
		} `json:"linkinfo"`
	}
	if _, err := ns.TryIP("link", "show", "dev", name); err != nil {
		return ""
	}
	ns.JSON(&links, "-d", "link", "show", "dev", name)
	if len(links) != 1 {
		return ""
	}
	return links[0].Info.Kind
}

// isRouteType reports whether ip's route type (a name, or a number under
// -N) is name.
func isRouteType(got, name string, number int) bool {
	return got == name || got == strconv.Itoa(number)
}
