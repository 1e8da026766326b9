package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// problems parses data and returns its problems, failing unless it is
// refused with an *Error.
func problems(t *testing.T, data string) []Problem {
	t.Helper()
	_, err := Parse("f.yaml", []byte(data))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	return ce.Problems
}

// Syntax errors are reported as FILE:LINE:COL like every other problem.
func TestSyntaxErrorPosition(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"unclosed flow list", "scopes: [\n", "f.yaml:2:1: not valid YAML: did not find expected node content"},
		{"mapping value in a plain scalar", "state_dir: /x\nscopes:\n  - name: x\n     bad: [1, 2\n", "f.yaml:4:9: not valid YAML: mapping values are not allowed in this context"},
		{"bad indentation", "scopes:\n  - name: a\n - name: b\n", "f.yaml:3:2: not valid YAML: did not find expected key"},
		{"tab indentation", "scopes:\n\t- name: a\n", "f.yaml:2:1: not valid YAML: found character that cannot start any token"},
		{"unterminated quote", "state_dir: \"/x\n", "f.yaml:2:1: not valid YAML: found unexpected end of stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := problems(t, tc.data)
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %v", ps)
			}
			if ps[0].Line == 0 || ps[0].Column == 0 {
				t.Errorf("problem without line and column: %v", ps[0])
			}
			if got := ps[0].String(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want it to start with %q", got, tc.want)
			}
		})
	}
}

// Every problem names FILE:LINE:COL, the document-level ones included.
func TestProblemsHaveColumns(t *testing.T) {
	for _, data := range []string{
		"",
		"---\n",
		"a: 1\n---\nb: 2\n",
		"- 1\n- 2\n",
		"scopes:\n  - {}\n",
		"scopes:\n  - name: a\n    desired:\n      routes:\n        - {via: 10.0.0.1}\n",
		"scopes: {a: 1}\n",
		"[a]: 1\n",
		"? {a: [1, 2]}\n: {b: 1}\nscopes: []\nstate_dir: /x\n",
		"x: &a 1\nstate_dir: *a\n",
	} {
		for _, p := range problems(t, data) {
			if p.Line == 0 || p.Column == 0 {
				t.Errorf("%q: problem without line and column: %v", data, p)
			}
		}
	}
}

// nested returns `x: ` followed by depth nested flow lists.
func nested(depth int) string {
	return "x: " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n"
}

// blockNested returns depth mappings nested by indentation.
func blockNested(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", i), i)
	}
	return b.String()
}

// aliasBomb returns the "billion laughs": nine aliases of nine aliases …
// of a list of nine strings, 9^levels strings if expanded.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", ")
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, refs)
	}
	fmt.Fprintf(&b, "scopes: *a%d\n", levels)
	return b.String()
}

// Nesting deeper than MaxDepth is refused where it goes too deep; up to
// MaxDepth it is read (and here refused for its unknown key only).
func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		line int
	}{
		{"flow 40000", nested(40000), 1},
		{"flow 65", nested(MaxDepth + 1), 1},
		{"block 200", blockNested(200), MaxDepth + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := problems(t, tc.data)
			if len(ps) != 1 || !strings.Contains(ps[0].Message, fmt.Sprintf("nesting deeper than %d levels", MaxDepth)) {
				t.Fatalf("want only the depth problem, got %v", ps)
			}
			if ps[0].Line != tc.line || ps[0].Column == 0 {
				t.Errorf("depth problem at %d:%d, want line %d", ps[0].Line, ps[0].Column, tc.line)
			}
		})
	}
	ps := problems(t, nested(MaxDepth-1))
	if len(ps) != 1 || !strings.Contains(ps[0].Message, `unknown key "x"`) {
		t.Errorf("%d levels: want the unknown key only, got %v", MaxDepth, ps)
	}
}

// Aliases are refused, never expanded, with the alias's position.
func TestAliasesRefused(t *testing.T) {
	ps := problems(t, aliasBomb(9))
	var found bool
	for _, p := range ps {
		if strings.Contains(p.Message, "aliases are not supported") && p.Path == "scopes" {
			found = true
			if p.Line != 11 || p.Column != 9 {
				t.Errorf("alias problem at %d:%d, want 11:9", p.Line, p.Column)
			}
		}
	}
	if !found {
		t.Errorf("alias not refused: %v", ps)
	}
}

// Hostile input is refused before any large allocation: the bytes
// allocated (a counter of the runtime, not a timing) stay under 1 MiB for
// inputs that cost the previous reader gigabytes.
func TestHostileInputIsCheap(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"flow nesting 40000", nested(40000)},
		{"block nesting 2000", blockNested(2000)},
		{"alias bomb", aliasBomb(9)},
		{"unclosed 40000", "x: " + strings.Repeat("[", 40000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse("f.yaml", data)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("hostile input accepted")
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("refusing %d bytes allocated %d bytes, want under 1 MiB", len(data), n)
			}
		})
	}
}

// A file over MaxFileSize is refused before it is read.
func TestFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk is used.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = Load(path)
	runtime.ReadMemStats(&after)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || !strings.Contains(ce.Problems[0].Message, "more than the 128 MiB limit") {
		t.Fatalf("want the size problem, got %v", err)
	}
	if !strings.HasPrefix(ce.Problems[0].String(), path+": ") {
		t.Errorf("problem does not name the file: %v", ce.Problems[0])
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing allocated %d bytes, want under 1 MiB", n)
	}
}

// A done context stops the reading with the context's error.
func TestParseContextCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("scopes:\n  - name: a\n    desired:\n      routes:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "        - dst: 10.0.%d.%d/32\n          dev: lo\n", i>>8, i&255)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ParseContext(ctx, "f.yaml", []byte(b.String()))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, err := Parse("f.yaml", []byte(b.String())); err != nil {
		t.Fatalf("the same file without a context: %v", err)
	}
}

// A key that is a mapping or a list is refused, and what follows it is
// read as usual.
func TestCollectionKey(t *testing.T) {
	ps := problems(t, "? {a: [1, 2]}\n: {b: 1}\nstate_dir: relative\n")
	if len(ps) != 2 || !strings.Contains(ps[0].Message, "want a plain key, got a mapping") ||
		ps[1].Path != "state_dir" || ps[1].Line != 3 {
		t.Errorf("got %v", ps)
	}
}

// A loaded configuration holds its model only: no syntax tree, no copy
// of the file. The live heap (after a collection, the runtime's counter)
// grows by little more than the routes themselves, 176 bytes each.
func TestLoadedConfigIsCompact(t *testing.T) {
	const n = 20000
	var b strings.Builder
	b.WriteString("scopes:\n  - name: a\n    desired:\n      routes:\n")
	for i := range n {
		fmt.Fprintf(&b, "        - dst: 10.0.%d.%d/32\n          dev: eth0\n          metric: %d\n", i>>8&255, i&255, i)
	}
	data := []byte(b.String())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg, err := Parse("f.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(cfg.Scopes[0].Desired.Routes) != n {
		t.Fatalf("%d routes read, want %d", len(cfg.Scopes[0].Desired.Routes), n)
	}
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes a route", per)
	if per > 256 {
		t.Errorf("the loaded configuration holds %d bytes a route, want at most 256", per)
	}
	runtime.KeepAlive(cfg)
	runtime.KeepAlive(data) // live throughout: only what Parse keeps is counted
}
