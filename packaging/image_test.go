package packaging_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// `make image` builds an OCI layout whose unpacked filesystem runs
// linx-node, at the version of the tree.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("SKIPPED: make is not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "image")
	if b, err := exec.Command("make", "-C", "..", "image", "IMAGE="+out).CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, b)
	}
	if _, err := os.Stat(out + ".tar"); err != nil {
		t.Errorf("no tarball for docker load: %v", err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("layout holds %d manifests, want 1", len(m.Manifests))
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/local/bin/linx-node"}; !slices.Equal(cfg.Config.Entrypoint, want) {
		t.Errorf("entrypoint %v, want %v", cfg.Config.Entrypoint, want)
	}

	root := filepath.Join(dir, "rootfs")
	unpack(t, mutate.Extract(img), root)
	for path, mode := range map[string]os.FileMode{"var/lib/linx": 0o700, "run/linx": 0o750, "etc/linx/linx.yaml": 0o644,
		"usr/local/bin/linx-cni": 0o755} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("/%s in the image: %v, want mode %v", path, err, mode)
		}
	}
	got, err := exec.Command(filepath.Join(root, "usr/local/bin/linx-node"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("linx-node version from the image: %v: %s", err, got)
	}
	want, err := exec.Command("../scripts/version.sh").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "linx-node "+strings.TrimSpace(string(want))+" ") {
		t.Errorf("linx-node version from the image: %q, want version %s", got, want)
	}
}

// unpack writes the tar stream r under root (regular files and
// directories only, as the image holds).
func unpack(t *testing.T, r io.ReadCloser, root string) {
	t.Helper()
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, h.FileInfo().Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, h.FileInfo().Mode().Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("unexpected %q of type %c in the image", h.Name, h.Typeflag)
		}
	}
}
