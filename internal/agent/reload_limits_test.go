package agent

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefusedReloadsKeepMemoryFlat sends SIGHUP with hostile files again
// and again: each reload is refused, and the bytes the process allocates
// meanwhile (the runtime's TotalAlloc counter, not a timing) stay far
// below what expanding any of them would take: the 63 KB nesting alone
// took the agent from 61 MB to 1.46 GB before the depth limit.
func TestRefusedReloadsKeepMemoryFlat(t *testing.T) {
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	good := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"off\"}\napi: {socket: \"off\"}\n"
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, path)
	a.opts.NoSignals = false
	runAgent(t, a)
	// Run catches signals once it starts: SIGHUP (with the good file, a
	// no-op reload) until one is applied.
	eventually(t, "the agent handling SIGHUP", func() bool {
		if err := unix.Kill(os.Getpid(), unix.SIGHUP); err != nil {
			t.Fatal(err)
		}
		<-guard
		time.Sleep(20 * time.Millisecond)
		return reloads(t, a, "applied") >= 1
	})
	applied := reloads(t, a, "applied")

	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", "))
	}
	bomb.WriteString("scopes: *a9\n")
	hostile := []func() error{
		func() error { // 31,500 deep: the 63 KB file
			return os.WriteFile(path, []byte("x: "+strings.Repeat("[", 31500)+strings.Repeat("]", 31500)), 0o600)
		},
		func() error { return os.WriteFile(path, []byte(bomb.String()), 0o600) },
		func() error { // 129 MiB, sparse
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(path, 129<<20)
		},
	}
	const rounds = 7
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range rounds * len(hostile) {
		if err := hostile[i%len(hostile)](); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(os.Getpid(), unix.SIGHUP); err != nil {
			t.Fatal(err)
		}
		<-guard
		eventually(t, "the reload refused", func() bool { return reloads(t, a, "refused") == float64(i+1) })
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("%d refused reloads allocated %d MiB, want under 32 MiB in all", rounds*len(hostile), n>>20)
	}
	if after.HeapAlloc > before.HeapAlloc+4<<20 {
		t.Errorf("live heap grew from %d to %d bytes across refused reloads", before.HeapAlloc, after.HeapAlloc)
	}
	if got := reloads(t, a, "applied"); got != applied {
		t.Errorf("%v hostile reloads applied, want none", got-applied)
	}
}

// TestSIGTERMDuringReload sends SIGTERM while a SIGHUP reload reads a
// large file: the reading is abandoned, nothing of the file is applied,
// and Run returns nil (the process exits 0).
func TestSIGTERMDuringReload(t *testing.T) {
	guard := make(chan os.Signal, 2)
	signal.Notify(guard, syscall.SIGHUP, syscall.SIGTERM)
	defer signal.Stop(guard)

	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	good := "state_dir: " + filepath.Join(dir, "state") + "\nmetrics: {listen: \"off\"}\napi: {socket: \"off\"}\n"
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAgent(t, path)
	a.opts.NoSignals = false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	eventually(t, "the agent handling SIGHUP", func() bool {
		if err := unix.Kill(os.Getpid(), unix.SIGHUP); err != nil {
			t.Fatal(err)
		}
		<-guard
		time.Sleep(20 * time.Millisecond)
		return reloads(t, a, "applied") >= 1
	})
	applied := reloads(t, a, "applied")

	// 400,000 routes, about 19 MB: a second or more to read.
	var b strings.Builder
	b.WriteString(good + "scopes:\n  - name: big\n    netns: path:" + filepath.Join(dir, "no-such-netns") + "\n    desired:\n      routes:\n")
	for i := range 400000 {
		fmt.Fprintf(&b, "        - dst: 10.%d.%d.%d/32\n          dev: lo\n", i>>16&255, i>>8&255, i&255)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGTERM} {
		if err := unix.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		<-guard
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after SIGTERM during a reload: %v, want nil", err)
	}
	if got := reloads(t, a, "applied"); got != applied {
		t.Errorf("the abandoned reload was applied (%v reloads applied, want %v)", got, applied)
	}
	for _, result := range []string{"refused", "failed"} {
		if got := reloads(t, a, result); got != 0 {
			t.Errorf("the abandoned reload counted as %s", result)
		}
	}
}
