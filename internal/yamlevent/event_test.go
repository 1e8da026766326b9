package yamlevent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// events returns the kinds and positions of data's events, or the error.
func events(data string) ([]string, error) {
	p := New([]byte(data))
	var out []string
	for {
		ev, err := p.Next()
		if err != nil {
			return out, err
		}
		s := fmt.Sprintf("%d:%d %s", ev.Line, ev.Column, ev.Kind)
		if ev.Kind == Scalar || ev.Kind == Alias {
			s += " " + ev.Value
		}
		if ev.Anchor != "" {
			s += " &" + ev.Anchor
		}
		out = append(out, s)
		if ev.Kind == StreamEnd {
			return out, nil
		}
	}
}

func TestEvents(t *testing.T) {
	got, err := events("a: &x [1, 'two']\nb: *x\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1:1 stream start", "1:1 document start", "1:1 mapping start",
		"1:1 scalar a", "1:4 sequence start &x", "1:8 scalar 1", "1:11 scalar two", "1:16 sequence end",
		"2:1 scalar b", "2:4 alias x",
		"3:1 mapping end", "3:1 document end", "3:1 stream end",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := events("a: b\n  c: d\n")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || se.Column != 4 {
		t.Fatalf("want a *SyntaxError at 2:4, got %v", err)
	}
	// The error is sticky.
	p := New([]byte("[\n"))
	var first error
	for range 10 {
		if _, err := p.Next(); err != nil {
			first = err
			break
		}
	}
	if _, err := p.Next(); first == nil || err != first {
		t.Errorf("error not sticky: %v then %v", first, err)
	}
}

func FuzzParser(f *testing.F) {
	for _, s := range []string{"", "a: [1, {b: c}]", "- 1\n- &a 2\n- *a\n", "a: |\n  text\n", "[[[[", "? a\n: b\n", "%YAML 1.1\n---\na\n...\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := New(data)
		depth := 0
		for i := 0; ; i++ {
			if i > 4*len(data)+16 {
				t.Fatalf("more events than the input can hold")
			}
			ev, err := p.Next()
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line < 1 || se.Column < 1 {
					t.Fatalf("error without a position: %v", err)
				}
				return
			}
			if ev.Line < 1 || ev.Column < 1 {
				t.Fatalf("event without a position: %+v", ev)
			}
			switch ev.Kind {
			case MappingStart, SequenceStart:
				depth++
			case MappingEnd, SequenceEnd:
				depth--
			case StreamEnd:
				if depth != 0 {
					t.Fatalf("stream ended %d levels deep", depth)
				}
				return
			}
			if depth < 0 {
				t.Fatal("more ends than starts")
			}
		}
	})
}

func ExampleParser() {
	p := New([]byte("routes:\n  - dst: 10.0.0.0/8\n"))
	for {
		ev, err := p.Next()
		if err != nil || ev.Kind == StreamEnd {
			break
		}
		if ev.Kind == Scalar {
			fmt.Printf("%d:%d %s\n", ev.Line, ev.Column, ev.Value)
		}
	}
	// Output:
	// 1:1 routes
	// 2:5 dst
	// 2:10 10.0.0.0/8
}
