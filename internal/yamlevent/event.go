package yamlevent

import "fmt"

// Kind says what an Event is.
type Kind int8

// The kinds of Event, in the order a stream produces them.
const (
	StreamStart Kind = iota + 1
	StreamEnd
	DocumentStart
	DocumentEnd
	Alias
	Scalar
	SequenceStart
	SequenceEnd
	MappingStart
	MappingEnd
)

var kindNames = [...]string{
	StreamStart: "stream start", StreamEnd: "stream end",
	DocumentStart: "document start", DocumentEnd: "document end",
	Alias: "alias", Scalar: "scalar",
	SequenceStart: "sequence start", SequenceEnd: "sequence end",
	MappingStart: "mapping start", MappingEnd: "mapping end",
}

// String returns the kind's name, such as "mapping start".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is one step of a YAML stream. Its zero value is no event.
type Event struct {
	Kind Kind
	// Line and Column (both from 1) are where the event starts.
	Line, Column int
	// Value is a Scalar's text, with quotes and escapes resolved, or an
	// Alias's anchor name.
	Value string
	// Plain is true for a Scalar written without quotes or block
	// indicators: only a plain scalar can be null, a number or a boolean.
	Plain bool
	// Anchor is the anchor (&name) defined on a Scalar or a collection.
	Anchor string
	// Tag is the tag (!name) given to a Scalar or a collection.
	Tag string
}

// SyntaxError is input that is not YAML, at the place the parser gave up.
type SyntaxError struct {
	// Line and Column (both from 1) are where the problem was found.
	Line, Column int
	// Message says what is wrong, with the construct being read when one
	// is known ("did not find expected key while parsing a block mapping").
	Message string
}

// Error returns "line L, column C: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Parser reads the events of a YAML stream one at a time, so that a caller
// can turn them into its own values without building a syntax tree: its
// memory grows with the nesting depth of the input, not with its size.
// Aliases are reported as Alias events and never expanded. The zero
// Parser is not usable; call New.
type Parser struct {
	p      yaml_parser_t
	ev     yaml_event_t
	err    error
	done   bool
	strs   map[string]string // short texts already made, shared
	shared int               // bytes of strs
}

// Short texts that come again and again (keys, interface names, "true")
// are made once and shared, up to internBytes in all: a file of 100,000
// routes then holds one "dev" and one "eth0", not 100,000 of each.
const (
	internLen   = 24
	internBytes = 64 << 10
)

// text returns b as a string, shared with earlier equal ones when short.
func (p *Parser) text(b []byte) string {
	if len(b) > internLen {
		return string(b)
	}
	if s, ok := p.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.shared < internBytes {
		if p.strs == nil {
			p.strs = make(map[string]string)
		}
		p.strs[s] = s
		p.shared += len(s)
	}
	return s
}

// New returns a Parser reading data, which must stay unchanged while the
// Parser is used.
func New(data []byte) *Parser {
	var p Parser
	yaml_parser_initialize(&p.p)
	yaml_parser_set_input_string(&p.p, data)
	return &p
}

// Next returns the next event. After the StreamEnd event, or after an
// error, it returns the same error again (io.EOF-like callers should stop
// at StreamEnd). A failure is a *SyntaxError.
func (p *Parser) Next() (Event, error) {
	for {
		if p.err != nil {
			return Event{}, p.err
		}
		if p.done {
			return Event{Kind: StreamEnd}, nil
		}
		if !yaml_parser_parse(&p.p, &p.ev) {
			p.err = p.syntaxError()
			return Event{}, p.err
		}
		e := &p.ev
		if e.typ == yaml_TAIL_COMMENT_EVENT || e.typ == yaml_NO_EVENT {
			if e.typ == yaml_NO_EVENT {
				p.err = p.syntaxError()
			}
			continue
		}
		ev := Event{
			Kind:   Kind(e.typ - yaml_STREAM_START_EVENT + 1),
			Line:   e.start_mark.line + 1,
			Column: e.start_mark.column + 1,
		}
		switch e.typ {
		case yaml_SCALAR_EVENT:
			ev.Value = p.text(e.value)
			ev.Plain = e.scalar_style() == yaml_PLAIN_SCALAR_STYLE
		case yaml_ALIAS_EVENT:
			ev.Value = string(e.anchor)
		case yaml_STREAM_END_EVENT:
			p.done = true
		}
		if e.typ != yaml_ALIAS_EVENT && len(e.anchor) > 0 {
			ev.Anchor = string(e.anchor)
		}
		if len(e.tag) > 0 {
			ev.Tag = string(e.tag)
		}
		return ev, nil
	}
}

// syntaxError describes the parser's failure.
func (p *Parser) syntaxError() error {
	pp := &p.p
	if pp.error == yaml_NO_ERROR {
		return &SyntaxError{Line: 1, Column: 1, Message: "no event produced"}
	}
	mark, msg := pp.problem_mark, pp.problem
	if pp.context != "" {
		msg += " " + pp.context
		if pp.context_mark.line != mark.line || pp.context_mark.column != mark.column {
			msg += fmt.Sprintf(" at line %d, column %d", pp.context_mark.line+1, pp.context_mark.column+1)
		}
	}
	if pp.error == yaml_READER_ERROR {
		// The reader counts bytes, not lines.
		return &SyntaxError{Line: 1, Column: 1, Message: fmt.Sprintf("%s at byte %d", pp.problem, pp.problem_offset)}
	}
	return &SyntaxError{Line: mark.line + 1, Column: mark.column + 1, Message: msg}
}
