package cliout

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/linx-net/linx/rtnl"
)

// Format is an output format of the command line. The zero value is
// FormatTable.
type Format int

// Output formats.
const (
	// FormatTable prints aligned columns with a header line, like `ip`.
	FormatTable Format = iota
	// FormatJSON prints one JSON array of objects.
	FormatJSON
	// FormatYAML prints one YAML sequence of mappings, with the keys of
	// the JSON objects.
	FormatYAML
)

// FormatNames returns the names ParseFormat accepts, for messages and
// shell completion.
func FormatNames() []string { return []string{"table", "json", "yaml"} }

// ParseFormat parses "table", "json" or "yaml". Anything else returns an
// error quoting s.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table":
		return FormatTable, nil
	case "json":
		return FormatJSON, nil
	case "yaml":
		return FormatYAML, nil
	}
	return 0, fmt.Errorf("output format %q: want table, json or yaml", s)
}

// String returns "table", "json" or "yaml".
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatYAML:
		return "yaml"
	}
	return "table"
}

// Row is one line of a table: every view of this package is a Row.
// Header must not depend on the receiver's fields, since it is also called
// on the zero value to title an empty table.
type Row interface {
	// Header returns the column titles.
	Header() []string
	// Cells returns the row's cells, one per column; "" prints as "-".
	Cells() []string
}

// Write renders rows to w in format f: an indented JSON array (`[]` when
// rows is empty), a YAML sequence or a table with a header line. It
// returns the first write error. For rows produced one at a time, Stream
// writes them in bounded memory.
func Write[R Row](w io.Writer, f Format, rows []R) error {
	if f == FormatYAML {
		s := NewStream[R](w, f)
		for _, r := range rows {
			if err := s.Write(r); err != nil {
				return err
			}
		}
		return s.Close()
	}
	if f == FormatJSON {
		if rows == nil {
			rows = []R{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	var zero R
	fmt.Fprintln(tw, strings.Join(zero.Header(), "\t"))
	for _, r := range rows {
		cells := r.Cells()
		for i, c := range cells {
			if c == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// Names maps interface indices to interface names within one namespace.
// The zero value (nil) is usable and knows no names.
type Names map[int]string

// NamesOf returns the names of links, by index.
func NamesOf(links []rtnl.Link) Names {
	n := make(Names, len(links))
	for _, l := range links {
		n[l.Index] = l.Name
	}
	return n
}

// Name returns the name of interface index, "" for index 0, and the
// index in decimal for an index that n does not know.
func (n Names) Name(index int) string {
	if index == 0 {
		return ""
	}
	if s, ok := n[index]; ok {
		return s
	}
	return strconv.Itoa(index)
}

// TableName returns "main", "local" or "default" for the well-known
// routing tables and the id in decimal for the others.
func TableName(id uint32) string {
	switch id {
	case rtnl.TableMain:
		return "main"
	case rtnl.TableLocal:
		return "local"
	case rtnl.TableDefault:
		return "default"
	}
	return strconv.FormatUint(uint64(id), 10)
}

// strPtr returns a pointer to s, or nil when s is empty, for JSON values
// that are null when absent.
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// addrString returns a.String(), or "" for the zero Addr.
func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
