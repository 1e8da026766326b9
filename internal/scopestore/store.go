package scopestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// Dir is the directory of the records under a state directory.
const Dir = "scopes"

// version is the file format's version.
const version = 1

// Record is one durable scope. Its zero value records nothing.
type Record struct {
	// Spec is the scope as last spawned, with its last desired state.
	Spec *messages.SpawnScope
	// Owner is the identity that spawned it through the API ("" when
	// unknown).
	Owner string
	// Stopped is set once the scope was stopped (without forgetting it):
	// it is listed as stopped, not resumed. Reason says why.
	Stopped bool
	Reason  string
	// Namespace is the identity of the scope's namespace when it was
	// recorded, zero when unknown. For a pid: scope it tells the process
	// that was meant from a later one that reused its number.
	Namespace rtnl.NamespaceID
	// Updated is when the record was written.
	Updated time.Time
}

// Name returns the scope's name.
func (r Record) Name() string { return r.Spec.GetName() }

type file struct {
	Version   int              `json:"version"`
	Spec      json.RawMessage  `json:"spec"`
	Owner     string           `json:"owner,omitempty"`
	Stopped   bool             `json:"stopped,omitempty"`
	Reason    string           `json:"reason,omitempty"`
	Namespace rtnl.NamespaceID `json:"namespace"`
	Updated   time.Time        `json:"updated"`
}

// Store is the records under one state directory. Its methods may be
// called from any goroutine. The zero Store is not usable; call Open.
type Store struct {
	dir string
	mu  sync.Mutex
}

// Open returns the store of stateDir, creating its directory (0700). It
// fails when the directory cannot be created.
func Open(stateDir string) (*Store, error) {
	dir := filepath.Join(stateDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("scope records: %w", err)
	}
	return &Store{dir: dir}, nil
}

// path returns the file of scope name, or an error for a name that is no
// file name (the node refuses such names anyway).
func (s *Store) path(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("scope records: invalid scope name %q", name)
	}
	return filepath.Join(s.dir, name+".json"), nil
}

// Put writes r, replacing the scope's previous record. It fails on a
// scope without a valid name or when the file cannot be written.
func (s *Store) Put(r Record) error {
	p, err := s.path(r.Name())
	if err != nil {
		return err
	}
	spec, err := protojson.Marshal(r.Spec)
	if err != nil {
		return fmt.Errorf("recording scope %q: %w", r.Name(), err)
	}
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	data, err := json.MarshalIndent(file{Version: version, Spec: spec, Owner: r.Owner, Stopped: r.Stopped, Reason: r.Reason, Namespace: r.Namespace, Updated: r.Updated.UTC()}, "", "  ")
	if err != nil {
		return fmt.Errorf("recording scope %q: %w", r.Name(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeAtomic(p, append(data, '\n')); err != nil {
		return fmt.Errorf("recording scope %q: %w", r.Name(), err)
	}
	return nil
}

// Get returns the record of scope name; false when there is none. It
// fails when the record cannot be read or parsed.
func (s *Store) Get(name string) (Record, bool, error) {
	p, err := s.path(name)
	if err != nil {
		return Record{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := read(p)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return r, true, nil
}

// Delete removes the record of scope name; a missing record is success.
func (s *Store) Delete(name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forgetting scope %q: %w", name, err)
	}
	return syncDir(s.dir)
}

// Load returns every record, sorted by name, and the errors of files that
// could not be read or parsed (left in place, for an operator to look at).
func (s *Store) Load() ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("scope records: %w", err)
	}
	var out []Record
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r, err := read(filepath.Join(s.dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.Name()+".json" != e.Name() {
			errs = append(errs, fmt.Errorf("scope record %s: names scope %q", e.Name(), r.Name()))
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name(), b.Name()) })
	return out, errors.Join(errs...)
}

func read(p string) (Record, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return Record{}, err
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return Record{}, fmt.Errorf("scope record %s: %w", p, err)
	}
	if f.Version != version {
		return Record{}, fmt.Errorf("scope record %s: version %d, want %d", p, f.Version, version)
	}
	spec := &messages.SpawnScope{}
	if err := protojson.Unmarshal(f.Spec, spec); err != nil {
		return Record{}, fmt.Errorf("scope record %s: spec: %w", p, err)
	}
	return Record{Spec: spec, Owner: f.Owner, Stopped: f.Stopped, Reason: f.Reason, Namespace: f.Namespace, Updated: f.Updated}, nil
}

// WriteAtomic replaces path (mode 0600) with data so that a crash leaves
// either the old or the new file, never a torn one: it writes a temporary
// file beside it, syncs it, renames it over path and syncs the directory.
func WriteAtomic(path string, data []byte) error {
	return writeAtomic(path, data)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
