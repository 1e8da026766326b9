package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/messages"
)

// TestWriteStatus checks both forms of `status` output: the table dates
// the last pass as an age, prints "-" for what is absent and the reason
// when there is no error; JSON carries every field under its name.
func TestWriteStatus(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	list := []*messages.ScopeStatus{
		{
			Name: "web", Phase: messages.Phase_PHASE_CONVERGED,
			LastPass:         timestamppb.New(now.Add(-90 * time.Second)),
			LastPassDuration: durationpb.New(1500 * time.Microsecond),
			Passes:           7, OpsApplied: 3, Conflicts: 1, Restarts: 2, Resyncs: 4, MonitorOverruns: 5,
			NarrowedPasses: 6, DriftRepaired: map[string]uint64{"route": 2, "address": 1},
		},
		{Name: "db", Phase: messages.Phase_PHASE_STOPPED, Reason: "stopped by request"},
	}

	var table bytes.Buffer
	if err := writeStatus(&table, cliout.FormatTable, list, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"SCOPE  PHASE      LAST PASS  TOOK   PASSES  NARROWED  OPS  CONFLICTS  RESTARTS  RESYNCS  OVERRUNS  DRIFT  ERROR\n" +
		"web    converged  1m30s ago  1.5ms  7       6         3    1          2         4        5         3      -\n" +
		"db     stopped    -          -      0       0         0    0          0         0        0         0      stopped by request\n"
	if table.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", table.String(), want)
	}

	var js bytes.Buffer
	if err := writeStatus(&js, cliout.FormatJSON, list, now); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil {
		t.Fatalf("JSON %s: %v", js.String(), err)
	}
	if len(rows) != 2 {
		t.Fatalf("JSON has %d rows, want 2: %s", len(rows), js.String())
	}
	for key, v := range map[string]any{
		"name": "web", "phase": "converged", "last_pass": "2025-01-02T03:02:35Z", "last_pass_duration": "1.5ms",
		"passes": 7.0, "ops_applied": 3.0, "conflicts": 1.0, "restarts": 2.0, "resyncs": 4.0, "monitor_overruns": 5.0,
		"narrowed_passes": 6.0,
	} {
		if rows[0][key] != v {
			t.Errorf("JSON row 0 %q = %v, want %v", key, rows[0][key], v)
		}
	}
	if drift, _ := rows[0]["drift_repaired"].(map[string]any); drift["route"] != 2.0 || drift["address"] != 1.0 {
		t.Errorf("JSON row 0 drift_repaired = %v, want route 2 and address 1", rows[0]["drift_repaired"])
	}
	if len(rows[0]) != 12 {
		t.Errorf("JSON row 0 has keys %v, want 12", rows[0])
	}
	if rows[1]["reason"] != "stopped by request" || rows[1]["last_pass"] != nil {
		t.Errorf("JSON row 1 = %v, want a reason and no last_pass", rows[1])
	}

	js.Reset()
	if err := writeStatus(&js, cliout.FormatJSON, nil, now); err != nil || js.String() != "[]\n" {
		t.Errorf("empty list as JSON: %q, %v; want []", js.String(), err)
	}
}

// TestWriteStatusWaiting: a scope waiting for its namespace prints as
// "waiting", with what it waits for, even when a pass of an earlier
// namespace left an error.
func TestWriteStatusWaiting(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &messages.ScopeStatus{
		Name: "demo", Phase: messages.Phase_PHASE_WAITING,
		Reason:    `waiting for its namespace: scope "demo": netlink ENOENT (2): no such network namespace path "/var/run/netns/demo" (not there yet)`,
		LastError: "an error of the namespace deleted before",
	}
	var table bytes.Buffer
	if err := writeStatus(&table, cliout.FormatTable, []*messages.ScopeStatus{st}, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "demo   waiting") || !strings.HasSuffix(lines[1], `"/var/run/netns/demo" (not there yet)`) {
		t.Errorf("table:\n%s", table.String())
	}
	var js bytes.Buffer
	if err := writeStatus(&js, cliout.FormatJSON, []*messages.ScopeStatus{st}, now); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0]["phase"] != "waiting" || rows[0]["reason"] != st.Reason {
		t.Errorf("JSON %s (%v)", js.String(), err)
	}
}

// TestWriteStatusDegraded checks that a degraded scope's unconverged
// objects follow the table, with the converged counts per kind, and are
// in its JSON row.
func TestWriteStatusDegraded(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	list := []*messages.ScopeStatus{{
		Name: "lab", Phase: messages.Phase_PHASE_DEGRADED, Passes: 2,
		LastError: "degraded: 1 failed, 1 blocked (first: link d0 failed: …)",
		Objects: []*messages.ObjectStatus{
			{Kind: "link", Key: "d0", State: "failed", Error: "link add: EOPNOTSUPP: Unknown device type", RetryAt: timestamppb.New(now.Add(8 * time.Second))},
			{Kind: "address", Key: "link=d0 prefix=10.1.0.1/24", State: "blocked", By: "link d0"},
		},
		ObjectsOmitted: 3,
		ObjectCounts:   []*messages.ObjectCount{{Kind: "link", Desired: 2, Failed: 1}, {Kind: "address", Desired: 3, Blocked: 1}},
	}}
	var table bytes.Buffer
	if err := writeStatus(&table, cliout.FormatTable, list, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"lab    degraded",
		"lab: 3 of 5 desired objects converged (link 1/2, address 2/3)",
		"  failed   link     d0                          link add: EOPNOTSUPP: Unknown device type (retried in 8s)",
		"  blocked  address  link=d0 prefix=10.1.0.1/24  link d0",
		"  … and 3 more",
	} {
		if !bytes.Contains(table.Bytes(), []byte(want)) {
			t.Errorf("table has no %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := writeStatus(&js, cliout.FormatJSON, list, now); err != nil {
		t.Fatal(err)
	}
	var rows []statusRow
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil {
		t.Fatalf("JSON %s: %v", js.String(), err)
	}
	r := rows[0]
	if r.Phase != "degraded" || len(r.Objects) != 2 || r.Objects[0].Error == "" || r.Objects[1].By != "link d0" ||
		r.ObjectsOmitted != 3 || len(r.Counts) != 2 || r.Counts[1].Converged != 2 {
		t.Errorf("JSON row: %+v", r)
	}
}
