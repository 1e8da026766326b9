// Command image builds Linx's container image as an OCI image layout,
// without a container daemon: one layer holding the static binaries, the
// example configuration and the directories the agent uses, on an empty
// base. `make image` runs it; `docker load`, podman, skopeo and containerd
// read the result (a tarball beside the layout loads with `docker load`).
//
//	go run ./packaging/image -version v1.2.3 -out bin/image \
//		-bin bin/release/linx-node [-bin bin/release/linx-cni]
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// binDir is where the binaries land in the image.
const binDir = "usr/local/bin"

type binaries []string

func (b *binaries) String() string     { return strings.Join(*b, ",") }
func (b *binaries) Set(s string) error { *b = append(*b, s); return nil }

func main() {
	var bins binaries
	version := flag.String("version", "", "image version (a semver tag, e.g. v1.2.3); required")
	out := flag.String("out", "bin/image", "directory of the OCI image layout to write (replaced)")
	config := flag.String("config", "config/examples/linx.yaml", "configuration installed as /etc/linx/linx.yaml")
	repo := flag.String("repo", "linx-net/linx-node", "repository named in the image's reference and the tarball")
	flag.Var(&bins, "bin", "a static binary to install in /"+binDir+" (repeatable; the first is the entrypoint)")
	flag.Parse()
	if err := build(*out, *repo, *version, *config, bins); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// build writes the image layout to out and a docker-loadable tarball to
// out + ".tar".
func build(out, repo, version, config string, bins []string) error {
	if version == "" || len(bins) == 0 {
		return errors.New("-version and at least one -bin are required")
	}
	layer, err := rootfs(config, bins)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return fmt.Errorf("adding the layer: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	entry := "/" + binDir + "/" + filepath.Base(bins[0])
	img, err = mutate.Config(img, v1.Config{
		Entrypoint: []string{entry},
		Cmd:        []string{"run", "--config", "/etc/linx/linx.yaml"},
		Env:        []string{"PATH=/usr/local/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "linx-node",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.source":   "https://github.com/linx-net/linx",
		},
	})
	if err != nil {
		return fmt.Errorf("setting the image config: %w", err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: time.Unix(0, 0).UTC()})
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the layout: %w", err)
	}
	tag, err := name.NewTag(repo + ":" + strings.ReplaceAll(version, "+", "_"))
	if err != nil {
		return fmt.Errorf("image reference: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
	})); err != nil {
		return fmt.Errorf("writing the image: %w", err)
	}
	if err := tarball.WriteToFile(out+".tar", tag, img); err != nil {
		return fmt.Errorf("writing the tarball: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s (%s) in %s and %s.tar\n", tag, d, out, out)
	return nil
}

// rootfs returns the image's only layer: the binaries, the configuration,
// and the directories the agent writes or mounts over (owned by root).
func rootfs(config string, bins []string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch})
	}
	file := func(name, src string, mode int64) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"etc", 0o755}, {"etc/linx", 0o755}, {"usr", 0o755}, {"usr/local", 0o755}, {binDir, 0o755},
		{"var", 0o755}, {"var/lib", 0o755}, {"var/lib/linx", 0o700}, {"run", 0o755}, {"run/linx", 0o750},
		{"run/netns", 0o755}, {"tmp", 0o1777}} {
		if err := dir(d.name, d.mode); err != nil {
			return nil, err
		}
	}
	for _, b := range bins {
		if err := file(binDir+"/"+filepath.Base(b), b, 0o755); err != nil {
			return nil, fmt.Errorf("adding %s: %w", b, err)
		}
	}
	if err := file("etc/linx/linx.yaml", config, 0o644); err != nil {
		return nil, fmt.Errorf("adding the configuration: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
