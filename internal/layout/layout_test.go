package layout_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/linx-net/linx"

// readLayers returns the layer of each path in the README's layout table.
func readLayers(t *testing.T, readme string) map[string]int {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Layout"
			continue
		case !in || !strings.HasPrefix(line, "| `"):
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		path := strings.Trim(strings.TrimSpace(cells[1]), "`")
		layer := strings.TrimSpace(cells[2])
		if layer == "-" {
			continue // no Go package (packaging, scripts)
		}
		n, err := strconv.Atoi(layer)
		if err != nil {
			t.Fatalf("README layout row %q: layer %q is not a number", path, layer)
		}
		layers[path] = n
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(layers) == 0 {
		t.Fatal("README has no layout table under \"## Layout\"")
	}
	return layers
}

// layerOf returns the layer of the row of the longest path that is pkg or
// one of its parents, and that path.
func layerOf(layers map[string]int, pkg string) (int, string, bool) {
	for p := pkg; ; {
		if n, ok := layers[p]; ok {
			return n, p, true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return 0, "", false
		}
		p = p[:i]
	}
}

type goPackage struct {
	ImportPath string
	Imports    []string
}

// TestNoUpwardImport fails on an import of a package of a higher layer
// than the importer's, and on a package the table does not place.
func TestNoUpwardImport(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	layers := readLayers(t, filepath.Join(root, "README.md"))
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go list: %v", err) // no toolchain where the test binary runs
	}
	var bad []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		from, row, ok := layerOf(layers, rel)
		if !ok {
			bad = append(bad, rel+": not under any row of the README's layout table")
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			to, depRow, ok := layerOf(layers, dep)
			if ok && to > from {
				bad = append(bad, rel+" (`"+row+"`, layer "+strconv.Itoa(from)+") imports "+dep+
					" (`"+depRow+"`, layer "+strconv.Itoa(to)+"): an import pointing up")
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
