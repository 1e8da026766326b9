package cliout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
)

// Screenful is how many rows a Stream's table holds back to size its
// columns: a terminal's worth many times over, so that every ordinary
// listing is aligned as a whole, and a bounded amount (some hundred
// kilobytes) for a table of any size.
const Screenful = 1000

// Stream writes rows one at a time as they are produced, in memory
// bounded whatever their number: a dump is decoded, written and dropped.
// The zero value is not usable; make one with NewStream, and Close it at
// the end (Close writes the end of a JSON array, or a table's header when
// no row came).
//
// Each format streams:
//
//   - JSON is one array, its objects one per line: "[", then each object
//     followed by "," (but the last), then "]". It is a valid array only
//     once Close has written the "]".
//   - YAML is one sequence, each item a block mapping; "[]" when empty.
//   - A table holds back its first Screenful rows and sizes its columns
//     from them (the header included), as a tabwriter would for the whole
//     table; the rows after are printed with those widths as they come,
//     without a second copy of the table. A later cell wider than its
//     column pushes the rest of its own line to the right, and no other.
//
// Output is buffered: nothing reaches the writer before 64 KiB are ready,
// a table's first Screenful rows are held, or Flush or Close is called.
// A Stream is not safe for concurrent use.
type Stream[R Row] struct {
	w      *bufio.Writer
	format Format
	n      int // rows written

	// The table's state: rows held back, then column widths.
	held   [][]string
	widths []int
	line   []byte
}

// NewStream returns a Stream writing rows to w in format f.
func NewStream[R Row](w io.Writer, f Format) *Stream[R] {
	return &Stream[R]{w: bufio.NewWriterSize(w, 64<<10), format: f}
}

// Write writes one row. It returns the first error of writing to the
// underlying writer (wrapped); the Stream is then unusable.
func (s *Stream[R]) Write(r R) error {
	s.n++
	switch s.format {
	case FormatJSON:
		return s.writeJSON(r)
	case FormatYAML:
		return s.writeYAML(r)
	}
	cells := r.Cells()
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	if s.widths == nil {
		s.held = append(s.held, cells)
		if len(s.held) < Screenful {
			return nil
		}
		return s.release()
	}
	return s.writeCells(cells)
}

// Rows returns how many rows were written so far.
func (s *Stream[R]) Rows() int { return s.n }

// Flush writes what is buffered to the underlying writer. A table's rows
// held back to size the columns are written (and the widths fixed) too.
func (s *Stream[R]) Flush() error {
	if s.format == FormatTable && s.widths == nil && len(s.held) > 0 {
		if err := s.release(); err != nil {
			return err
		}
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", s.format, err)
	}
	return nil
}

// Close ends the output (the JSON array's "]", "[]" for an empty JSON
// array or YAML sequence, the header of an empty table) and flushes it.
// It returns the first write error.
func (s *Stream[R]) Close() error {
	switch s.format {
	case FormatJSON:
		if s.n == 0 {
			s.w.WriteString("[]\n")
		} else {
			s.w.WriteString("\n]\n")
		}
	case FormatYAML:
		if s.n == 0 {
			s.w.WriteString("[]\n")
		}
	default:
		if s.widths == nil {
			if err := s.release(); err != nil {
				return err
			}
		}
	}
	return s.Flush()
}

// release sizes the table's columns from the header and the rows held
// back, and writes them.
func (s *Stream[R]) release() error {
	var zero R
	header := zero.Header()
	s.widths = make([]int, len(header))
	for _, row := range append([][]string{header}, s.held...) {
		for i, c := range row {
			if i < len(s.widths) {
				s.widths[i] = max(s.widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	if err := s.writeCells(header); err != nil {
		return err
	}
	for _, row := range s.held {
		if err := s.writeCells(row); err != nil {
			return err
		}
	}
	s.held = nil
	return nil
}

// writeCells writes one line of the table: every cell but the last padded
// to its column's width plus two spaces, as tabwriter pads.
func (s *Stream[R]) writeCells(cells []string) error {
	b := s.line[:0]
	for i, c := range cells {
		b = append(b, c...)
		if i == len(cells)-1 {
			break
		}
		pad := 2
		if i < len(s.widths) {
			pad += s.widths[i] - utf8.RuneCountInString(c)
		}
		for range max(pad, 2) {
			b = append(b, ' ')
		}
	}
	b = append(b, '\n')
	s.line = b
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// jsonAppender is a view that encodes itself as JSON faster than
// encoding/json, byte for byte the same as json.Marshal.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

func (s *Stream[R]) writeJSON(r R) error {
	b := s.line[:0]
	if s.n == 1 {
		b = append(b, "[\n"...)
	} else {
		b = append(b, ",\n"...)
	}
	if a, ok := any(r).(jsonAppender); ok {
		b = a.appendJSON(b)
	} else {
		j, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		b = append(b, j...)
	}
	s.line = b
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

func (s *Stream[R]) writeYAML(r R) error {
	j, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("writing YAML: %w", err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return fmt.Errorf("writing YAML: %w", err)
	}
	// A block mapping becomes an item of the sequence: "- " before its
	// first line, two spaces before the others.
	lines := strings.Split(strings.TrimSuffix(string(y), "\n"), "\n")
	var b bytes.Buffer
	for i, l := range lines {
		if i == 0 {
			b.WriteString("- ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing YAML: %w", err)
	}
	return nil
}
