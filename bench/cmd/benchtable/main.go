package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Results is the JSON document benchtable writes.
type Results struct {
	// Generated is when the table was made (RFC 3339, UTC).
	Generated string `json:"generated"`
	// Input names the benchmark output read ("-" for standard input).
	Input string `json:"input"`
	// Rows are the benchmarks in table order.
	Rows []Row `json:"rows"`
	// Lines are every benchmark line of the input, as printed.
	Lines []string `json:"lines"`
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// run is benchtable with its arguments and standard streams; it returns
// an error when the input cannot be read or an output cannot be written.
func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	jsonPath := fs.String("json", "bench/results.json", "write the figures as JSON to this file (\"\" for none)")
	pngPath := fs.String("png", "bench/results.png", "draw the chart to this PNG file (\"\" for none)")
	title := fs.String("title", "Linx benchmarks: ratios against targets", "the chart's title")
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, name := stdin, "-"
	if fs.NArg() > 1 {
		return fmt.Errorf("want at most one input file, have %d", fs.NArg())
	}
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		name = fs.Arg(0)
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("opening the benchmark output: %w", err)
		}
		defer f.Close()
		in = f
	}
	lines, err := parse(in)
	if err != nil {
		return err
	}
	rs := rows(lines)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Linx beside its baselines, measured in the same run (ratios are Linx over the baseline):")
	fmt.Fprintln(stdout)
	if err := writeTable(stdout, rs); err != nil {
		return fmt.Errorf("printing the table: %w", err)
	}

	if *jsonPath != "" {
		res := Results{Generated: time.Now().UTC().Format(time.RFC3339), Input: name, Rows: rs, Lines: []string{}}
		for _, l := range lines {
			res.Lines = append(res.Lines, l.text)
		}
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s: %w", *jsonPath, err)
		}
		if err := os.WriteFile(*jsonPath, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the figures: %w", err)
		}
	}
	if *pngPath != "" {
		var buf bytes.Buffer
		if err := drawChart(&buf, rs, *title); err != nil {
			return err
		}
		if err := os.WriteFile(*pngPath, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the chart: %w", err)
		}
	}
	return nil
}
