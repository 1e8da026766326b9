// Package yamlevent reads YAML as a stream of events (stream, document,
// mapping and sequence starts and ends, scalars, aliases), each with its
// line and column, for readers that convert as they go instead of holding
// a syntax tree.
//
// The scanner and parser are the libyaml port of go.yaml.in/yaml/v3
// v3.0.5 (files apic.go, parserc.go, readerc.go, scannerc.go, yamlh.go and
// yamlprivateh.go, under the MIT licence in LICENSE), unchanged but for
// the package name and a line telling staticcheck that the emitter half
// is unused; event.go is the small exported interface on top. That
// library builds a node tree from these events and does not export them;
// config needs them to read a large file in memory that grows with its
// nesting depth rather than its size.
//
// A Parser never expands aliases (an Alias event names the anchor) and
// refuses nesting deeper than 10,000 levels with a *SyntaxError; callers
// that want a lower limit count depth themselves.
package yamlevent
