package sdnotify_test

import (
	"log"
	"os"
	"time"

	"github.com/linx-net/linx/internal/sdnotify"
)

// A service tells systemd it is ready, then pings the watchdog while its
// main loop runs. Outside systemd every call does nothing.
func Example() {
	n, err := sdnotify.FromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	if err := n.Notify(sdnotify.Ready, sdnotify.Status("serving")); err != nil {
		log.Print(err)
	}
	if every := n.WatchdogInterval(); every > 0 {
		for range time.Tick(every) {
			_ = n.Notify(sdnotify.Watchdog)
		}
	}
	// Output:
}
