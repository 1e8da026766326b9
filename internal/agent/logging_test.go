package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Every line of the journal logger starts with the record's syslog
// priority, followed by the JSON object the plain logger would write.
func TestJournalLoggerPriorities(t *testing.T) {
	var buf bytes.Buffer
	log := NewJournalLogger(&buf, slog.LevelDebug).With("scope", "a")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e", "err", "boom")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{"<7>", "<6>", "<4>", "<3>"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		if !strings.HasPrefix(line, want[i]) {
			t.Errorf("line %d %q: want prefix %s", i, line, want[i])
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line[len(want[i]):]), &rec); err != nil {
			t.Errorf("line %d: not JSON after the prefix: %v", i, err)
			continue
		}
		if rec["scope"] != "a" {
			t.Errorf("line %d lost the logger's attributes: %v", i, rec)
		}
	}
}

func TestJournalStream(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino), true},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), false},
		{"", false},
		{"garbage", false},
	} {
		got := JournalStream(f, func(string) string { return tc.env })
		if got != tc.want {
			t.Errorf("JOURNAL_STREAM=%q: %v, want %v", tc.env, got, tc.want)
		}
	}
}
