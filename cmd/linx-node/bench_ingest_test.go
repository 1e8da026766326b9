package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/linx-net/linx/internal/nstest"
)

// gnuTime is GNU time, which reports the peak RSS of the command it runs.
const gnuTime = "/usr/bin/time"

// rawYAMLEnv names the file TestRawYAMLDecode decodes, when set: the
// benchmarks run this test binary as a child for their baseline.
const rawYAMLEnv = "LINX_BENCH_RAW_YAML"

// measured runs name with args (and env added) to its end, its output
// dropped, and returns the wall time in ms (process start included, as a
// user pays it), the peak RSS in MB and the exit status.
//
// The peak RSS is GNU time's, when installed: the rusage of a child of
// this process overstates it, since Go starts children with vfork and the
// kernel carries the parent's peak at the exec into the child's ru_maxrss
// (fs/exec.c, setmax_mm_hiwater_rss). Without GNU time that inflated
// figure is returned.
func measured(b *testing.B, env []string, name string, args ...string) (ms, rss float64, code int) {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(name, args...)
	if _, err := os.Stat(gnuTime); err == nil {
		cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", rssFile, name}, args...)...)
	}
	var stderr bytes.Buffer
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	ms = float64(time.Since(start).Microseconds()) / 1000
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		b.Fatalf("%s %v: %v", name, args, err)
	}
	if data, err := os.ReadFile(rssFile); err == nil {
		// GNU time writes "Command exited with non-zero status N" first.
		fields := strings.Fields(string(data))
		kb, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			b.Fatalf("%s: peak RSS %q: %v", gnuTime, data, err)
		}
		return ms, kb / 1024, code
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	return ms, rss, code
}

// bestOf runs measured rounds times and returns the best wall time, the
// highest peak RSS and the exit status of the last run: on a shared
// machine the best time is the steadiest figure, the highest RSS the
// safest.
func bestOf(b *testing.B, rounds int, env []string, name string, args ...string) (ms, rss float64, code int) {
	b.Helper()
	for i := range rounds {
		m, r, c := measured(b, env, name, args...)
		if i == 0 || m < ms {
			ms = m
		}
		rss, code = max(rss, r), c
	}
	return ms, rss, code
}

// TestRawYAMLDecode is the baseline of the ingest benchmarks, run by them
// as a child process: a plain decode of the file named by
// $LINX_BENCH_RAW_YAML into a map[string]any with the YAML library Linx
// read its configuration with before. Without the variable it skips.
func TestRawYAMLDecode(t *testing.T) {
	path := os.Getenv(rawYAMLEnv)
	if path == "" {
		t.Skip("SKIPPED: the ingest benchmarks' baseline, run by them")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkIngest100kYAML runs `linx-node plan`, as built, on a
// configuration of one scope desiring 100,000 routes (4.8 MB) in a
// throwaway namespace that already holds them, as after `linx-node run`
// converged it (plan then reads the file, lists the routes and finds
// nothing to do: the cost is the reading); and in the same run a raw
// decode of the same file into a map[string]any (TestRawYAMLDecode) as
// the baseline. It prints
//
//	ingest_100k_yaml: load_ms=<ms> peak_rss=<MB> raw_yaml_ms=<ms> raw_yaml_rss=<MB>
//
// load_ms is plan's wall time, the best of three, peak_rss the highest
// of their peak RSS; raw_yaml_* the same for the baseline. Targets: 1000
// ms and 150 MB.
func BenchmarkIngest100kYAML(b *testing.B) {
	nstest.RequireRoot(b)
	bin := cliBinary(b)
	ns := nstest.New(b)
	var batch strings.Builder
	batch.WriteString("link set lo up\n")
	for i := range 100_000 {
		fmt.Fprintf(&batch, "route add 10.%d.%d.%d/32 dev lo proto 76\n", i>>16&255, i>>8&255, i&255)
	}
	ns.Batch(batch.String())
	path := filepath.Join(b.TempDir(), "linx.yaml")
	writeRoutesConfig(b, path, ns.Path(), 100_000, true)
	for b.Loop() {
		ms, rss, code := bestOf(b, 3, nil, bin, "plan", "--config", path, "--exit-code")
		if code != 0 {
			b.Fatalf("linx-node plan --exit-code: exit %d, want 0 (nothing to do)", code)
		}
		rawMS, rawRSS, code := bestOf(b, 3, []string{rawYAMLEnv + "=" + path}, os.Args[0], "-test.run=^TestRawYAMLDecode$")
		if code != 0 {
			b.Fatalf("raw YAML decode: exit %d", code)
		}
		fmt.Printf("ingest_100k_yaml: load_ms=%.0f peak_rss=%.1f raw_yaml_ms=%.0f raw_yaml_rss=%.1f\n", ms, rss, rawMS, rawRSS)
		b.ReportMetric(ms, "load-ms")
		b.ReportMetric(rss, "peak-rss-MB")
	}
}

// BenchmarkIngestHostile runs `linx-node plan`, as built, on two hostile
// files, each of which must be refused as an invalid configuration (exit
// 2): a flow list nested 40,000 deep (`x: [[[…]]]`, 80 KB; the reader
// before the depth limit took 2.5 GB on it) and a "billion laughs" of
// nine levels of nine aliases (9^9 strings if expanded). It prints
//
//	ingest_hostile: nest_40k_ms=<ms> nest_40k_rss=<MB> alias_ms=<ms> alias_rss=<MB>
//
// Each figure is the best wall time of five runs (process start
// included), after one run of each not counted, and the highest peak RSS.
// Targets: each refused within 100 ms and 50 MB.
func BenchmarkIngestHostile(b *testing.B) {
	bin := cliBinary(b)
	dir := b.TempDir()
	nest := filepath.Join(dir, "nest.yaml")
	if err := os.WriteFile(nest, []byte("x: "+strings.Repeat("[", 40000)+strings.Repeat("]", 40000)+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", "))
	}
	bomb.WriteString("scopes: *a9\n")
	alias := filepath.Join(dir, "alias.yaml")
	if err := os.WriteFile(alias, []byte(bomb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		measured(b, nil, bin, "plan", "--config", nest)
		measured(b, nil, bin, "plan", "--config", alias)
		nestMS, nestRSS, code := bestOf(b, 5, nil, bin, "plan", "--config", nest)
		if code != 2 {
			b.Fatalf("plan of the nesting: exit %d, want 2 (refused)", code)
		}
		aliasMS, aliasRSS, code := bestOf(b, 5, nil, bin, "plan", "--config", alias)
		if code != 2 {
			b.Fatalf("plan of the alias bomb: exit %d, want 2 (refused)", code)
		}
		fmt.Printf("ingest_hostile: nest_40k_ms=%.0f nest_40k_rss=%.1f alias_ms=%.0f alias_rss=%.1f\n", nestMS, nestRSS, aliasMS, aliasRSS)
		b.ReportMetric(nestMS, "nest-ms")
		b.ReportMetric(aliasMS, "alias-ms")
	}
}
