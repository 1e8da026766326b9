package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linx-net/linx/fleet/fleettest"
)

func TestFleetCommands(t *testing.T) {
	srv := fleettest.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	write := func(addr string) {
		body := "nodes: [n1, n2]\nscopes:\n  - name: edge\n    netns: path:/var/run/netns/edge\n    desired: {addresses: [{link: lo, address: " + addr + "}]}\n"
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append(append([]string{"fleet"}, args...), "--endpoints", srv.Endpoint), &out, &errb); code != 0 {
			t.Fatalf("fleet %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	write("10.0.0.1/32")
	if out := cli("apply", "-f", file, "--dry-run"); out != "n1: spawn edge\nn2: spawn edge\n" {
		t.Errorf("dry run printed %q", out)
	}
	if out := cli("get"); out != "" {
		t.Errorf("a dry run wrote: %q", out)
	}
	cli("apply", "-f", file)
	write("10.0.0.2/32")
	if out := cli("apply", "-f", file); out != "n1: update edge\nn2: update edge\n" {
		t.Errorf("second apply printed %q", out)
	}
	if out := cli("apply", "-f", file); out != "n1: no change\nn2: no change\n" {
		t.Errorf("third apply printed %q", out)
	}
	if out := cli("get", "n2"); !strings.HasPrefix(out, "n2/edge {") || !strings.Contains(out, "10.0.0.2/32") {
		t.Errorf("get n2: %q", out)
	}
	cli("delete", "n1", "edge")
	var rows []fleetRow
	if err := json.Unmarshal([]byte(cli("status", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Node != "n2" || rows[0].Scope != "edge" || rows[0].Live || rows[0].Phase != "unknown" {
		t.Errorf("status: %+v; want n2/edge alone, no agent", rows)
	}
}
