// Package deploy_test decodes the Kubernetes manifests strictly with the
// Kubernetes API types, and checks the settings the agent depends on.
package deploy_test

import (
	"bytes"
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/linx-net/linx/config"
)

// documents splits a multi-document YAML file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func TestDaemonSet(t *testing.T) {
	docs := documents(t, "linx-node.yaml")
	if len(docs) != 2 {
		t.Fatalf("%d documents, want a ConfigMap and a DaemonSet", len(docs))
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(docs[0], &cm); err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(docs[1], &ds); err != nil {
		t.Fatalf("DaemonSet: %v", err)
	}
	if cm.Kind != "ConfigMap" || ds.Kind != "DaemonSet" || ds.APIVersion != "apps/v1" {
		t.Fatalf("kinds %s and %s %s", cm.Kind, ds.APIVersion, ds.Kind)
	}

	// The configuration it ships is one the agent accepts.
	if _, err := config.Parse("linx.yaml", []byte(cm.Data["linx.yaml"])); err != nil {
		t.Errorf("the ConfigMap's linx.yaml: %v", err)
	}

	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || !spec.HostPID {
		t.Errorf("hostNetwork=%v hostPID=%v, want both", spec.HostNetwork, spec.HostPID)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || sc.Privileged == nil || *sc.Privileged {
		t.Fatalf("securityContext %+v: want unprivileged with explicit capabilities", sc)
	}
	// The capabilities of packaging/linx-node.service, and no others.
	want := []corev1.Capability{"NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "CHOWN"}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, want) {
		t.Errorf("capabilities drop %v add %v, want drop [ALL] add %v", sc.Capabilities.Drop, sc.Capabilities.Add, want)
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.IntValue() != 9476 {
			t.Errorf("probe %+v: want GET %s on the metrics port 9476", probe, path)
		}
	}

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, path := range []string{"/run/netns", "/var/lib/linx", "/run/linx", "/etc/cni/net.d", "/opt/cni/bin", "/etc/linx"} {
		if _, ok := mounts[path]; !ok {
			t.Errorf("no volume mounted at %s", path)
		}
	}
	if p := mounts["/run/netns"].MountPropagation; p == nil || *p != corev1.MountPropagationHostToContainer {
		t.Errorf("/run/netns propagation %v: namespaces added later would not be seen", p)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("mount %s names no volume %q", m.MountPath, m.Name)
		}
	}
}
