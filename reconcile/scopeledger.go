package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linx-net/linx/rtnl"
)

// LedgerPath returns the file of scope's ledger in namespace id under
// stateDir: stateDir/SCOPE.netns-DEV-INODE.ledger. Each namespace a scope
// runs in has its own ledger, so that a scope name reused on another
// namespace starts empty, and a scope moved to another namespace and back
// finds its ledger again.
func LedgerPath(stateDir, scope string, id rtnl.NamespaceID) string {
	return filepath.Join(stateDir, fmt.Sprintf("%s.netns-%d-%d.ledger", scope, id.Dev, id.Inode))
}

// OpenScopeLedger opens the ledger of scope in namespace ns, kept under
// stateDir at LedgerPath, after checking that ns names a network
// namespace (see rtnl.Namespace.ID: a path that is not a namespace file
// is refused at once, never opened for reading).
//
// A ledger saved by an older Linx as stateDir/SCOPE.ledger, for no
// namespace in particular, is taken by the first namespace that opens it
// without a ledger of its own: it is renamed to that namespace's file and
// bound to it by the first pass. One already bound (written by a Linx
// that saved it under that name and bound it) is taken only by its own
// namespace.
//
// It fails on a namespace that does not exist or is not one, and as
// OpenLedger does; see Ledger.Damaged for a file moved aside.
func OpenScopeLedger(stateDir, scope string, ns rtnl.Namespace) (*Ledger, error) {
	path, legacy, err := locateLedger(stateDir, scope, ns)
	if err != nil {
		return nil, err
	}
	if legacy != "" {
		if err := os.Rename(legacy, path); err != nil {
			return nil, fmt.Errorf("moving ledger %s to %s: %w", legacy, path, err)
		}
	}
	return OpenLedger(path)
}

// ScopeLedgerFile returns the file OpenScopeLedger would open for scope in
// ns, without renaming anything: the version 1 file when it would be
// taken. A caller that only reads (a plan) reads this one with
// ReadLedger (see ReadScopeLedger). It fails as OpenScopeLedger does on the namespace.
func ScopeLedgerFile(stateDir, scope string, ns rtnl.Namespace) (string, error) {
	path, legacy, err := locateLedger(stateDir, scope, ns)
	if legacy != "" {
		return legacy, err
	}
	return path, err
}

// ReadScopeLedger returns a copy in memory of the ledger of scope in ns
// under stateDir (the file ScopeLedgerFile names), as ReadLedger reads it:
// nothing under stateDir is created, renamed, locked or written, and a
// stateDir that does not exist reads as an empty ledger. It fails as
// OpenScopeLedger does on the namespace, and as ReadLedger does.
func ReadScopeLedger(stateDir, scope string, ns rtnl.Namespace) (*Ledger, error) {
	path, err := ScopeLedgerFile(stateDir, scope, ns)
	if err != nil {
		return nil, err
	}
	return ReadLedger(path)
}

// locateLedger returns the ledger file of scope in ns and, when that does
// not exist yet, the version 1 file it takes over ("" when none).
func locateLedger(stateDir, scope string, ns rtnl.Namespace) (path, legacy string, err error) {
	id, err := ns.ID()
	if err != nil {
		return "", "", err
	}
	path = LedgerPath(stateDir, scope, id)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return path, "", nil
	}
	old := filepath.Join(stateDir, scope+".ledger")
	data, err := os.ReadFile(old)
	if errors.Is(err, os.ErrNotExist) {
		return path, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading ledger %s: %w", old, err)
	}
	var f struct {
		Namespace *ledgerNamespace `json:"namespace"`
	}
	// A file that does not parse is taken as it is: OpenLedger names its
	// fault and moves it aside.
	if json.Unmarshal(data, &f) == nil && f.Namespace != nil && (f.Namespace.Dev != id.Dev || f.Namespace.Inode != id.Inode) {
		return path, "", nil
	}
	return path, old, nil
}
