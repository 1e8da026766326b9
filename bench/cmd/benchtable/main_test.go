package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rowNamed(t *testing.T, rs []Row, name string) Row {
	t.Helper()
	for _, r := range rs {
		if r.Benchmark == name {
			return r
		}
	}
	t.Fatalf("no row %q", name)
	return Row{}
}

func TestParseKeepsBenchmarkLinesOnly(t *testing.T) {
	in := "goos: linux\n" +
		"BenchmarkX-2   \troute_install_100k: linx=400 raw_batched=350 ratio_raw=1.14\n" +
		"ok  \tgithub.com/linx-net/linx/diff\t3.1s\n" +
		"--- FAIL: BenchmarkY\n" +
		"scopes_100: rss=7.1 goroutines=300 idle_cpu=0.07\n"
	lines, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range lines {
		names = append(names, l.name)
	}
	if got := strings.Join(names, ","); got != "route_install_100k,scopes_100" {
		t.Fatalf("parsed %q", got)
	}
	if lines[0].text != "route_install_100k: linx=400 raw_batched=350 ratio_raw=1.14" {
		t.Errorf("text %q", lines[0].text)
	}
	if v, ok := lines[1].num("goroutines"); !ok || v != 300 {
		t.Errorf("goroutines = %v %v", v, ok)
	}
	if _, ok := lines[1].num("absent"); ok {
		t.Error("absent field reported present")
	}
}

func TestRowsFromARun(t *testing.T) {
	f, err := os.Open("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	rs := rows(lines)

	dump := rowNamed(t, rs, "route dump 100k")
	if *dump.Linx.Value != 45.1 || dump.Baselines[2].Value != nil {
		t.Errorf("dump row: %+v", dump)
	}
	if c := dump.Checks[0]; *c.Value != 1.5 || !*c.Met {
		t.Errorf("dump ratio_raw check: %+v", c)
	}

	del := rowNamed(t, rs, "route delete 100k")
	if c := del.Checks[0]; *c.Met || c.verdict() != "NOT MET" {
		t.Errorf("delete ratio 1.50 against ≤ 1.2 should fail: %+v", c)
	}
	// A ratio the line does not print is computed from its figures.
	if c := del.Checks[2]; c.Value == nil || *c.Value != 300.0/250.0 {
		t.Errorf("linx/ip flush: %+v", c)
	}

	foreign := rowNamed(t, rs, "reconcile no-op 100k, 200k foreign")
	if c := foreign.Checks[1]; c.Value == nil || *c.Value != 70.0/60.0 || !*c.Met {
		t.Errorf("200k/0 foreign check: %+v", c)
	}

	heal := rowNamed(t, rs, "self-heal p99")
	if c := heal.Checks[0]; *c.Value != 4.82 || *c.Target != 50 || !*c.Met {
		t.Errorf("p99 check: %+v", c)
	}

	big := rowNamed(t, rs, "scope 1m routes")
	if c := big.Checks[1]; *c.Value != 2.21 || *c.Met {
		t.Errorf("1m no-op ratio 2.21 against ≤ 2.0 should fail: %+v", c)
	}
	if c := big.Checks[2]; *c.Value != 310.5 || !*c.Met {
		t.Errorf("1m idle RSS check: %+v", c)
	}
	ingest := rowNamed(t, rs, "ingest 100k routes of YAML")
	if ingest.Baselines[0].Name != "raw YAML decode" || *ingest.Baselines[0].Value != 2100 {
		t.Errorf("ingest baseline: %+v", ingest.Baselines)
	}
	heal1m := rowNamed(t, rs, "self-heal at 1m routes p99")
	if c := heal1m.Checks[0]; *c.Value != 9.8 || *c.Target != 20 || !*c.Met {
		t.Errorf("1m p99 check: %+v", c)
	}

	rss := rowNamed(t, rs, "RSS per 100k desired routes")
	if rss.Line != "" || rss.Linx.Value != nil || rss.Checks[0].verdict() != "missing" {
		t.Errorf("missing line not reported missing: %+v", rss)
	}
}

func TestRunWritesTableJSONAndChart(t *testing.T) {
	dir := t.TempDir()
	jsonPath, pngPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	var out bytes.Buffer
	if err := run([]string{"-json", jsonPath, "-png", pngPath, "testdata/run.txt"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{"route dump 100k", "ip -j route show=-", "NOT MET", "100 scopes RSS", "Notes"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 24 || len(res.Lines) != 21 {
		t.Errorf("JSON has %d rows and %d lines", len(res.Rows), len(res.Lines))
	}
	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != chartWidth || b.Dy() < chartHeadH+len(bars(res.Rows))*chartRowH {
		t.Errorf("chart is %v", b)
	}
}

func TestRunRejectsMissingInput(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-json", "", "-png", "", "testdata/absent.txt"}, nil, &out); err == nil {
		t.Fatal("no error for a missing input file")
	}
}

func TestDumpRowShowsIPJSON(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ratio      float64
	}{
		{"printed ratio", "route_dump_100k: linx=36.8 raw=32.3 vishvananda=167.8 ratio_raw=1.14 ratio_vishvananda=0.22 allocs_per_route=0.01 ip_json=156.4 ratio_ip_json=0.24", 0.24},
		{"ratio computed", "route_dump_100k: linx=36.8 raw=32.3 vishvananda=167.8 ratio_raw=1.14 ratio_vishvananda=0.22 allocs_per_route=0.01 ip_json=156.4", 36.8 / 156.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := parse(strings.NewReader("BenchmarkRouteDump100k-2   \t" + tc.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			dump := rowNamed(t, rows(lines), "route dump 100k")
			if b := dump.Baselines[2]; b.Name != "ip -j route show" || b.Value == nil || *b.Value != 156.4 {
				t.Errorf("ip -j baseline: %+v", b)
			}
			if len(dump.Checks) != 3 {
				t.Fatalf("dump row has %d checks", len(dump.Checks))
			}
			if c := dump.Checks[2]; c.Name != "linx/ip -j route show" || c.Value == nil || math.Abs(*c.Value-tc.ratio) > 1e-9 || c.Target != nil || c.verdict() != "-" {
				t.Errorf("linx/ip -j check: %+v", c)
			}
			if len(dump.Notes) != 0 {
				t.Errorf("notes for a complete line: %q", dump.Notes)
			}
			var out bytes.Buffer
			if err := writeTable(&out, []Row{dump}); err != nil {
				t.Fatal(err)
			}
			if s := out.String(); !strings.Contains(s, "ip -j route show=156.4") || strings.Contains(s, "=-") {
				t.Errorf("table:\n%s", s)
			}
		})
	}
}

func TestShowRoutesRows(t *testing.T) {
	lines, err := parse(strings.NewReader("show_routes_1m: table_s=0.96 json_s=1.15 ip_s=4.35 ip_json_s=3.55 peak_rss=43.2 ratio_table=0.22 ratio_json=0.32\n" +
		"show_routes_100k: table_s=0.60 json_s=0.16 ip_s=0.52 ip_json_s=0.51 peak_rss=70 ratio_table=1.15 ratio_json=0.30\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs := rows(lines)
	big := rowNamed(t, rs, "show routes 1m")
	if *big.Linx.Value != 0.96 || *big.Checks[0].Value != 0.22 || !*big.Checks[0].Met || !*big.Checks[1].Met || *big.Checks[2].Value != 43.2 || !*big.Checks[2].Met {
		t.Errorf("show routes 1m: %+v", big)
	}
	small := rowNamed(t, rs, "show routes 100k")
	if *small.Checks[0].Met || !*small.Checks[1].Met || *small.Checks[2].Met {
		t.Errorf("show routes 100k: table over ip and 70 MB must fail, JSON pass: %+v", small.Checks)
	}
}
