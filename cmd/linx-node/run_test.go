package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writeRoutesConfig writes a configuration of one scope desiring n routes
// (10.0.0.0/32 on, dev lo) in the namespace at netns (a path). With adopt
// the scope also desires lo up and adopts its protocol's routes, as it
// must to own routes another writer installed (see
// BenchmarkIngest100kYAML).
func writeRoutesConfig(t testing.TB, path, netns string, n int, adopt bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "state_dir: %s\nmetrics: {listen: \"off\"}\napi: {socket: \"off\"}\nscopes:\n  - name: big\n    netns: path:%s\n",
		filepath.Join(filepath.Dir(path), "state"), netns)
	if adopt {
		fmt.Fprintf(w, "    adopt_protocol: true\n    desired:\n      links:\n        - {name: lo, up: true}\n      routes:\n")
	} else {
		fmt.Fprintf(w, "    desired:\n      routes:\n")
	}
	for i := range n {
		fmt.Fprintf(w, "        - dst: 10.%d.%d.%d/32\n          dev: lo\n", i>>16&255, i>>8&255, i&255)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSIGTERMDuringLoad stops `linx-node run` while it reads a large
// file: it must exit 0 with nothing started, not die of the signal (143).
func TestSIGTERMDuringLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linx.yaml")
	// About 19 MB, a second or more to read; the namespace does not exist,
	// as nothing is meant to start.
	writeRoutesConfig(t, path, filepath.Join(filepath.Dir(path), "no-such-netns"), 400000, false)
	cmd := exec.Command(cliBinary(t), "run", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var log []string
	for lines.Scan() {
		log = append(log, lines.Text())
		if strings.Contains(lines.Text(), "loading the configuration") {
			// The agent catches signals from before this line on.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for lines.Scan() {
		log = append(log, lines.Text())
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("linx-node run: %v (exit %d); want exit 0\n%s", err, ee.ExitCode(), strings.Join(log, "\n"))
	} else if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(log, "\n"); !strings.Contains(text, "stopped while loading the configuration; nothing started") {
		t.Errorf("the agent did not stop while loading:\n%s", text)
	}
}
