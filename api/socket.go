package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/internal/wire"
	"github.com/linx-net/linx/messages"
)

// SocketIdleTimeout is how long the local socket keeps a connection that
// sends no request: a command line tool sends its requests back to back.
const SocketIdleTimeout = 2 * time.Minute

// socketServer is the message API on a local Unix socket: one request
// frame, one reply frame, on the same connection (package internal/wire).
type socketServer struct {
	path   string
	gid    int // the group admitted besides root; 0 means root only
	group  string
	ln     *net.UnixListener
	gate   *gate
	max    int // frame cap
	conns  *connLimiter
	logger *slog.Logger

	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// listenSocket makes the socket's directory (0750, root and the group),
// binds the socket (0660, root and the group) and serves it. An existing
// socket at path is replaced only when nothing answers on it: a running
// agent's socket is left alone and reported.
func listenSocket(path, group string, g *gate, maxConns, perUID int, logger *slog.Logger) (*socketServer, error) {
	gid, err := lookupGroup(group)
	if err != nil {
		return nil, fmt.Errorf("api: socket %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := socketDir(dir); err != nil {
		return nil, fmt.Errorf("api: socket %s: %w", path, err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		return nil, fmt.Errorf("api: socket directory: %w", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return nil, fmt.Errorf("api: socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("api: socket %s: the path exists and is not a socket; remove it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("api: socket %s: another agent answers on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("api: socket %s: removing the stale socket: %w", path, err)
		}
	}
	// The directory is already 0750 for root and the group: until the
	// socket's own mode and group are set below, nobody else can reach it.
	// (No umask dance: the umask is the whole process's.)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("api: socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	err = os.Chown(path, 0, gid)
	if err == nil {
		err = os.Chmod(path, 0o660)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("api: socket %s: %w", path, err)
	}
	if group == "" {
		group = "root"
	}
	s := &socketServer{
		path: path, gid: gid, group: group, ln: ln, gate: g, max: g.limits.MaxMessageBytes,
		conns: newConnLimiter(maxConns, perUID), logger: logger, open: map[net.Conn]struct{}{},
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// socketDir makes dir, the socket's own directory, or checks that an
// existing one may be given to the socket: a directory owned by root that
// others cannot enter. The caller then sets its group and mode 0750; a
// shared directory (/tmp, /run) must not be, and is refused.
func socketDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("making its directory: %w", err)
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("making its directory: %w", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("making its directory: %w", err)
		}
		return nil
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("its directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case !ok || st.Uid != 0:
		return fmt.Errorf("its directory %s is not owned by root", dir)
	case fi.Mode().Perm()&0o007 != 0 || fi.Mode()&os.ModeSticky != 0:
		return fmt.Errorf("its directory %s (mode %v) is open to others: give the socket a directory of its own, such as /run/linx, which the agent makes 0750", dir, fi.Mode())
	}
	return nil
}

// lookupGroup returns the gid of group (a name or a number); "" is root.
func lookupGroup(group string) (int, error) {
	if group == "" || group == "root" {
		return 0, nil
	}
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("api.group %q: %w", group, err)
	}
	return strconv.Atoi(g.Gid)
}

func (s *socketServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: the descriptors come back as other
			// connections close. Wait instead of spinning.
			s.logger.Warn("api socket: accepting a connection", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.conn(c)
		}()
	}
}

// conn serves one connection: its peer credentials decide whether it is
// served at all, and whose requests it carries.
func (s *socketServer) conn(c *net.UnixConn) {
	defer c.Close()
	cred, err := peerCred(c)
	if err != nil {
		s.logger.Warn("api socket: refused a connection: no peer credentials", "err", err)
		return
	}
	id := "uid:" + strconv.FormatUint(uint64(cred.Uid), 10)
	release, err := s.conns.acquire(id)
	if err != nil {
		s.logger.Warn("api socket: refused a connection", "identity", id, "pid", cred.Pid, "err", err)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = wire.Write(c, &messages.Ack{Error: err.Error()}, 0)
		return
	}
	defer release()
	if !s.admitted(cred) {
		msg := fmt.Sprintf("permission denied: uid %d (gid %d) is neither root nor a member of group %s (gid %d), which api.group admits to the socket %s",
			cred.Uid, cred.Gid, s.group, s.gid, s.path)
		s.logger.Warn("api socket: refused a connection", "identity", id, "pid", cred.Pid, "gid", cred.Gid, "err", msg)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = wire.Write(c, &messages.Ack{Error: msg}, 0)
		return
	}
	if !s.track(c) {
		return
	}
	defer s.untrack(c)
	peer := Peer{Identity: id, Transport: TransportSocket, Addr: "pid:" + strconv.Itoa(int(cred.Pid))}
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(SocketIdleTimeout))
		m, err := wire.Read(r, s.max)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) && !isTimeout(err) {
				s.logger.Warn("api socket: dropping a connection", "identity", id, "err", err)
				c.SetWriteDeadline(time.Now().Add(time.Second))
				_ = wire.Write(c, &messages.Ack{Error: "invalid request: " + err.Error()}, 0)
			}
			return
		}
		var reply proto.Message
		switch m.(type) {
		case *messages.Subscribe, *messages.Unsubscribe:
			// The node pushes statuses to a subscriber actor, which a
			// socket peer does not have.
			reply = &messages.Ack{Error: "subscriptions are served over TCP (api.listen) only"}
		default:
			reply = s.gate.handle(peer, m)
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := wire.Write(c, reply, 0); err != nil {
			return
		}
	}
}

// admitted reports whether the peer is root or a member of the group.
func (s *socketServer) admitted(cred *unix.Ucred) bool {
	if cred.Uid == 0 {
		return true
	}
	if s.gid == 0 {
		return false // root only; a peer with gid 0 but another uid is not root
	}
	if int(cred.Gid) == s.gid {
		return true
	}
	for _, g := range supplementaryGroups(int(cred.Pid)) {
		if g == s.gid {
			return true
		}
	}
	return false
}

// supplementaryGroups returns the supplementary groups of process pid, as
// its /proc status says (nil when it cannot be read). SO_PEERCRED gives
// the connecting process's pid and primary gid only; the pid is read at
// once, while the peer still holds the connection open.
func supplementaryGroups(pid int) []int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			var gs []int
			for _, f := range strings.Fields(rest) {
				if n, err := strconv.Atoi(f); err == nil {
					gs = append(gs, n)
				}
			}
			return gs
		}
	}
	return nil
}

// peerCred returns the credentials the kernel recorded for c's peer when
// it connected.
func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

func (s *socketServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		return false
	}
	s.open[c] = struct{}{}
	return true
}

func (s *socketServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// close stops accepting, closes every connection, removes the socket and
// waits for the connections' goroutines.
func (s *socketServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.open = nil
	s.mu.Unlock()
	s.wg.Wait()
}

// isTimeout reports whether err is a deadline passing (an idle peer).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
