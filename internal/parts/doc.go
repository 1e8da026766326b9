// Package parts runs work over a large range in consecutive parts, one
// per processor, each in a goroutine of its own: how Linx converts,
// validates and keys a table of a million routes on every core while
// small tables stay on the caller's goroutine.
package parts
