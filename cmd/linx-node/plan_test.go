package main

import (
	"encoding/json"
	"errors"
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
	// The links are created, then v0a enslaved, then br0's MTU, which the
	// kernel lowered to v0a's on enslaving it, set again: as apply does.
	wantLines(t, "first plan", lines,
		"scope one (path:"+ns.Path()+"):",
		"+ link br0 type bridge mtu 1400 up",
		"+ link v0a type veth up",
		"~ link v0a type veth master br0 up",
		"~ link br0 type bridge mtu 1400 up",
		"+ address 10.0.42.1/24 dev br0",
		"+ route 10.50.0.0/24 via 10.0.42.254 dev br0 table 100 proto 76",
		"scope one: 4 to create, 2 to update, 0 to delete, 0 conflicts")

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

// planResult is a scope of plan's or apply's JSON output.
type planResult struct {
	Converged bool     `json:"converged"`
	Ops       []string `json:"ops"`
	Conflicts []string `json:"conflicts"`
	Failed    string   `json:"failed"`
	Error     string   `json:"error"`
	Changes   []change `json:"changes"`
}

// runJSON runs linx-node args -o json and returns its one scope's result
// and exit status.
func runJSON(t *testing.T, args ...string) (planResult, int) {
	t.Helper()
	code, out, errs := execCLI(t, append(args, "-o", "json")...)
	var res []planResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("linx-node %v: exit %d, %v\n%s%s", args, code, err, out, errs)
	}
	return res[0], code
}

// structure returns what a plan and a pass must agree on: each change by
// action, kind and key (interfaces by name), the conflicts, and the
// failure.
func structure(r planResult) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Action+" "+c.Kind+" "+c.Key)
	}
	for _, c := range r.Conflicts {
		out = append(out, "conflict "+c)
	}
	if r.Failed != "" {
		out = append(out, "fails "+r.Failed)
	}
	return out
}

// For one configuration and one kernel, plan reports what apply then does,
// compared change by change: a foreign route holding a desired route's key
// is a conflict in both (where the old plan printed a create), beside
// creates, updates and deletes of owned objects. Plan's converged is true
// only when nothing is pending, and --exit-code tells pending (3) from
// none (0).
func TestPlanIsApply(t *testing.T) {
	ns := nstest.New(t)
	path := filepath.Join(t.TempDir(), "linx.yaml")
	routes := "        - {dst: 10.50.0.0/24, via: 10.0.42.254, dev: br0, table: 100}\n" +
		"        - {dst: 10.51.0.0/24, via: 10.0.42.254, dev: br0}\n"
	writePlanConfig(t, path, ns, 1400, routes, "        - {name: br7, kind: bridge}\n")
	plan, code := runJSON(t, "plan", "--config", path)
	if code != 0 || plan.Converged || len(plan.Changes) == 0 {
		t.Fatalf("first plan: exit %d, converged %v with %d changes", code, plan.Converged, len(plan.Changes))
	}
	applied, code := runJSON(t, "apply", "--config", path)
	if code != 0 || !slices.Equal(structure(plan), structure(applied)) {
		t.Fatalf("apply (exit %d) did:\n  %s\nplan said:\n  %s", code,
			strings.Join(structure(applied), "\n  "), strings.Join(structure(plan), "\n  "))
	}

	// A foreign route (another protocol) holds a desired key; an owned
	// link and route go, another route's gateway and br0's MTU change,
	// and a bridge with an address is new.
	ns.IP("route", "add", "10.10.0.0/16", "dev", "br0", "proto", "static")
	routes = "        - {dst: 10.50.0.0/24, via: 10.0.42.253, dev: br0, table: 100}\n" +
		"        - {dst: 10.10.0.0/16, via: 10.0.42.254, dev: br0}\n"
	writePlanConfig(t, path, ns, 1300, routes, "        - {name: br8, kind: bridge, up: true}\n")
	cfg, _ := os.ReadFile(path)
	cfg = []byte(strings.Replace(string(cfg), "      routes:\n", "        - {link: br8, address: 10.8.0.1/24}\n      routes:\n", 1))
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	plan, code = runJSON(t, "plan", "--config", path)
	if code != 0 || plan.Converged {
		t.Fatalf("second plan: exit %d, converged %v", code, plan.Converged)
	}
	want := structure(plan)
	for _, w := range []string{"create link br8", "update link br0", "delete link br7", "create address 10.8.0.1/24 dev br8",
		"update route 10.50.0.0/24 table 100", "delete route 10.51.0.0/24 table main"} {
		if !slices.Contains(want, w) {
			t.Errorf("second plan lacks %q:\n  %s", w, strings.Join(want, "\n  "))
		}
	}
	if !slices.ContainsFunc(want, func(s string) bool {
		return strings.HasPrefix(s, "conflict route") && strings.Contains(s, "10.10.0.0/16")
	}) ||
		slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "create route 10.10.0.0/16") }) {
		t.Errorf("second plan does not see the foreign route's conflict:\n  %s", strings.Join(want, "\n  "))
	}
	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != exitPending {
		t.Errorf("plan --exit-code with changes pending: exit %d, want %d", code, exitPending)
	}
	applied, code = runJSON(t, "apply", "--config", path)
	if code != 1 || !slices.Equal(structure(applied), want) {
		t.Fatalf("apply (exit %d, want 1 for the conflict) did:\n  %s\nplan said:\n  %s", code,
			strings.Join(structure(applied), "\n  "), strings.Join(want, "\n  "))
	}

	// Only the conflict is left: nothing to do, yet not converged.
	plan, code = runJSON(t, "plan", "--config", path)
	if code != 0 || plan.Converged || len(plan.Changes) != 0 || len(plan.Conflicts) != 1 {
		t.Fatalf("plan with the conflict alone: exit %d, converged %v, %d changes, conflicts %v", code, plan.Converged, len(plan.Changes), plan.Conflicts)
	}
	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != 0 {
		t.Errorf("plan --exit-code with nothing to apply: exit %d, want 0", code)
	}
	// Once the foreign route is gone, the next plan creates the route;
	// after that apply, plan is converged.
	ns.IP("route", "del", "10.10.0.0/16", "proto", "static")
	if plan, _ = runJSON(t, "plan", "--config", path); plan.Converged || !slices.Equal(structure(plan), []string{"create route 10.10.0.0/16 table main"}) {
		t.Fatalf("plan without the foreign route: %v", structure(plan))
	}
	execOK(t, "apply", "--config", path)
	if plan, code = runJSON(t, "plan", "--config", path); code != 0 || !plan.Converged || len(plan.Ops) != 0 {
		t.Fatalf("plan after the last apply: exit %d, converged %v, ops %v", code, plan.Converged, plan.Ops)
	}

	// A route through a gateway no address reaches: the kernel refuses
	// it. Plan says so, as part of the plan (exit 0, 3 with --exit-code);
	// apply meets it and fails.
	routes += "        - {dst: 10.12.0.0/16, via: 10.99.0.1}\n"
	writePlanConfig(t, path, ns, 1300, routes, "        - {name: br8, kind: bridge, up: true}\n")
	cfg, _ = os.ReadFile(path)
	cfg = []byte(strings.Replace(string(cfg), "      routes:\n", "        - {link: br8, address: 10.8.0.1/24}\n      routes:\n", 1))
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	plan, code = runJSON(t, "plan", "--config", path)
	if code != 0 || plan.Converged || plan.Failed == "" || !strings.Contains(plan.Error, "ENETUNREACH") {
		t.Fatalf("plan of a refused route: exit %d, converged %v, failed %q, error %q", code, plan.Converged, plan.Failed, plan.Error)
	}
	_, text, _ := execCLI(t, "plan", "--config", path)
	if !strings.Contains(text, "! fails: ") || !strings.Contains(text, ", 1 to fail") {
		t.Errorf("plan's text does not tell the refusal:\n%s", text)
	}
	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != exitPending {
		t.Errorf("plan --exit-code with a refusal pending: exit %d, want %d", code, exitPending)
	}
	applied, code = runJSON(t, "apply", "--config", path)
	if code != 1 || !slices.Equal(structure(applied), structure(plan)) || !strings.Contains(applied.Error, "ENETUNREACH") {
		t.Fatalf("apply (exit %d, want 1) did:\n  %s (%s)\nplan said:\n  %s", code,
			strings.Join(structure(applied), "\n  "), applied.Error, strings.Join(structure(plan), "\n  "))
	}
}

// listing returns the names and contents of the files under dir, "" when
// it does not exist.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + "\n")
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Plan writes nothing: with no state directory it creates none; with a
// ledger there, the file's bytes and the directory's listing are as they
// were, with no lock file.
func TestPlanLeavesStateDirUntouched(t *testing.T) {
	ns := nstest.New(t)
	path := filepath.Join(t.TempDir(), "linx.yaml")
	writePlanConfig(t, path, ns, 1400, "        - {dst: 10.50.0.0/24, via: 10.0.42.254, dev: br0}\n")
	state := filepath.Join(filepath.Dir(path), "state")

	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != exitPending {
		t.Fatalf("plan: exit %d, want %d", code, exitPending)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("plan created the state directory: %v", err)
	}

	execOK(t, "apply", "--config", path)
	locks, _ := filepath.Glob(filepath.Join(state, "*.lock"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	ledgers, _ := filepath.Glob(filepath.Join(state, "*.ledger"))
	if len(ledgers) != 1 {
		t.Fatalf("apply left ledgers %v, want one", ledgers)
	}
	before := listing(t, state)
	// Changes pending (a route to delete) and none: neither writes.
	writePlanConfig(t, path, ns, 1400, "        []\n")
	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != exitPending {
		t.Fatalf("plan with a delete pending: exit %d, want %d", code, exitPending)
	}
	writePlanConfig(t, path, ns, 1400, "        - {dst: 10.50.0.0/24, via: 10.0.42.254, dev: br0}\n")
	if code, _, _ := execCLI(t, "plan", "--config", path, "--exit-code"); code != 0 {
		t.Fatalf("plan with nothing pending: exit %d, want 0", code)
	}
	if after := listing(t, state); after != before {
		t.Fatalf("plan changed the state directory:\nbefore\n%s\nafter\n%s", before, after)
	}
}
