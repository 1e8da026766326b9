// Package crash is the crash-injection hook of the Linx actors. Being
// internal to actors/, only the actors and their tests can build these
// messages; they are plain Go values, so they never cross protoactor remote.
package crash

// Panic makes the actor that receives it panic with Reason, exactly as a bug
// would, so supervision can be exercised.
type Panic struct{ Reason string }

// Inject asks a node supervisor to deliver a Panic to one actor of a scope:
// Actor is "socket", "monitor", "reconciler" or "scope" (the scope
// supervisor itself).
type Inject struct {
	Scope  string
	Actor  string
	Reason string
}
