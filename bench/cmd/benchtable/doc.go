// Command benchtable turns the output of Linx's benchmarks into one table,
// a JSON file and a chart.
//
// Every Linx benchmark prints one line in the format its issue fixed: a
// name, a colon and key=value fields, Linx's figure first, then the
// baselines measured in the same run, then the ratios, such as
//
//	route_dump_100k: linx=45.1 raw=30.0 vishvananda=310.2 ratio_raw=1.50 ratio_vishvananda=0.15 allocs_per_route=2.00 ip_json=160.0 ratio_ip_json=0.28
//
// benchtable reads `go test -bench` output (a file or standard input),
// keeps those lines and ignores everything else, and then:
//
//  1. prints the table: one row per benchmark, Linx beside its baselines,
//     each ratio with its target and whether it was met; a figure the run
//     did not produce is printed as "-" and listed under the table;
//  2. writes the same figures as JSON (-json, default bench/results.json);
//  3. draws them as a PNG chart (-png, default bench/results.png): one bar
//     per ratio, on a log scale centred on its target (or on 1, parity with
//     the baseline, for a ratio without a target), green when the target is
//     met, red when it is not, grey without a target.
//
// Usage:
//
//	go test -run '^$' -bench . -benchtime=1x ./... | tee bench/results.txt
//	go run ./bench/cmd/benchtable bench/results.txt
//
// benchtable exits 1 when it cannot read its input or write its outputs,
// and 0 otherwise, even when figures are missing or targets are not met:
// the benchmarks' own exit status says whether they ran.
package main
