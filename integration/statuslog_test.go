package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/internal/nstest"
)

// TestStatusLeavesNoErrorInLog runs `linx-node status` against a running
// agent, once over the local socket and once over mutual TLS (where each
// call opens and drops a protoactor connection), and checks that the
// agent logged no line at ERROR: a client that comes and goes is not an
// error, and operators alert on ERROR.
func TestStatusLeavesNoErrorInLog(t *testing.T) {
	nstest.RequireRoot(t)
	bin := agentBuild(t)
	ns := nstest.New(t)
	ca := apitest.NewCA(t, "statuslog")
	node, ctl := ca.Issue("node"), ca.Issue("operator")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	dir := t.TempDir()
	path := filepath.Join(dir, "linx.yaml")
	socket := filepath.Join(dir, "run", "linx.sock")
	cfg := fmt.Sprintf(`state_dir: %s
metrics:
  listen: 127.0.0.1:0
api:
  socket: %s
  listen: 127.0.0.1:%s
  tls: {cert: %s, key: %s, client_ca: %s}
scopes:
%s`, filepath.Join(dir, "state"), socket, port, node.CertFile, node.KeyFile, ca.CertFile,
		agentScope("web", ns, "30s", "      addresses: [{link: lo, address: 10.9.0.1/32}]\n"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := agentStart(t, bin, path)
	p.waitReady(30e9)

	for _, args := range [][]string{
		{"status", "--socket", socket},
		{"status", "--api", "127.0.0.1:" + port, "--tls-cert", ctl.CertFile, "--tls-key", ctl.KeyFile, "--tls-ca", ca.CertFile},
		{"status", "web", "--api", "127.0.0.1:" + port, "--tls-cert", ctl.CertFile, "--tls-key", ctl.KeyFile, "--tls-ca", ca.CertFile},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "web") {
			t.Fatalf("linx-node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p.stop()

	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lines int
	for sc.Scan() {
		lines++
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			t.Errorf("a log line that is not JSON: %s", sc.Text())
			continue
		}
		if rec.Level == "ERROR" {
			t.Errorf("the agent logged at ERROR: %s", sc.Text())
		}
	}
	if lines == 0 {
		t.Fatal("the agent logged nothing: the check above saw no line")
	}
}
