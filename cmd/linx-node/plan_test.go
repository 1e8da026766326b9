package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
)

// writePlanConfig writes a configuration of one scope on ns, with links
// (br0 of mtu, v0a enslaved to it), an address and the routes given.
func writePlanConfig(t *testing.T, path string, ns *nstest.NS, mtu int, routes string, links ...string) {
	t.Helper()
	body := fmt.Sprintf(`state_dir: %s
metrics:
  listen: 127.0.0.1:0
scopes:
  - name: one
    netns: path:%s
    interval: 30s
    desired:
      links:
        - {name: br0, kind: bridge, up: true, mtu: %d}
        - {name: v0a, kind: veth, peer: v0b, master: br0, up: true}
%s      addresses:
        - {link: br0, address: 10.0.42.1/24}
      routes:
%s`, filepath.Join(filepath.Dir(path), "state"), ns.Path(), mtu, strings.Join(links, ""), routes)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// planLines runs plan with args and returns its exit status and lines.
func planLines(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	code, out, errs := execCLI(t, append([]string{"plan"}, args...)...)
	if code != 0 && code != exitPending {
		t.Fatalf("plan %v: exit %d: %s%s", args, code, out, errs)
	}
	return code, strings.Split(strings.TrimSpace(out), "\n")
}

// wantLines fails unless every line of want is among lines.
func wantLines(t *testing.T, what string, lines []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("%s lacks the line %q:\n%s", what, w, strings.Join(lines, "\n"))
		}
	}
}

// plan prints a diff: + to create, ~ with old → new to update, - to
// delete, interfaces by name (links still to be created too), then the
// conflicts and a summary; --exit-code tells changes (3) from none (0).
func TestPlanDiff(t *testing.T) {
	ns := nstest.New(t)
	path := filepath.Join(t.TempDir(), "linx.yaml")
	route := "        - {dst: 10.50.0.0/24, via: 10.0.42.254, dev: br0, table: 100}\n"
	writePlanConfig(t, path, ns, 1400, route)

	code, lines := planLines(t, "--config", path, "--exit-code")
	if code != exitPending {
		t.Errorf("plan --exit-code with changes: exit %d, want 3", code)
	}
	wantLines(t, "first plan", lines,
		"scope one (path:"+ns.Path()+"):",
		"+ link br0 type bridge mtu 1400 up",
		"+ link v0a type veth up",
		"+ address 10.0.42.1/24 dev br0",
		"+ route 10.50.0.0/24 via 10.0.42.254 dev br0 table 100 proto 76",
		"scope one: 4 to create, 0 to update, 0 to delete, 0 conflicts")

	if code, out, errs := execCLI(t, "apply", "--config", path); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	code, lines = planLines(t, "--config", path, "--detailed-exitcode")
	if code != 0 || len(lines) != 1 || !strings.HasSuffix(lines[0], "up to date") {
		t.Errorf("plan --detailed-exitcode after apply: exit %d\n%s", code, strings.Join(lines, "\n"))
	}

	// An update shows old → new for what changes, and nothing else.
	writePlanConfig(t, path, ns, 1300, strings.Replace(route, "10.0.42.254", "10.0.42.253", 1))
	code, lines = planLines(t, "--config", path, "--exit-code")
	wantLines(t, "update plan", lines,
		"~ link br0: mtu 1400 → 1300",
		"~ route 10.50.0.0/24 table 100: gateway 10.0.42.254 → 10.0.42.253",
		"scope one: 0 to create, 2 to update, 0 to delete, 0 conflicts")
	if code != exitPending || len(lines) != 4 {
		t.Errorf("update plan: exit %d, %d lines, want 3 and 4", code, len(lines))
	}

	// A route no longer desired is deleted; a foreign link of another
	// kind on a desired name is a conflict.
	ns.IP("link", "add", "fx0", "type", "veth", "peer", "name", "fx1")
	writePlanConfig(t, path, ns, 1400, "        []\n", "        - {name: fx0, kind: bridge}\n")
	_, lines = planLines(t, "--config", path)
	wantLines(t, "delete plan", lines,
		"- route 10.50.0.0/24 via 10.0.42.254 dev br0 table 100 proto 76",
		"scope one: 0 to create, 0 to update, 1 to delete, 1 conflict")
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "! conflict: link ") && strings.Contains(l, "fx0")
	}) {
		t.Errorf("delete plan lacks the conflict:\n%s", strings.Join(lines, "\n"))
	}

	// JSON keeps ops and adds the changes.
	_, out, _ := execCLI(t, "plan", "--config", path, "-o", "json")
	var res []struct {
		Ops     []string `json:"ops"`
		Changes []change `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || len(res[0].Ops) != len(res[0].Changes) || len(res[0].Changes) != 1 ||
		res[0].Changes[0].Action != "delete" || res[0].Changes[0].Kind != "route" {
		t.Errorf("plan -o json: %v, %+v\n%s", err, res, out)
	}
}
