package monitor_test

import (
	"fmt"
	"log"
	"time"

	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// The consumer loop: subscribe first, then list; on any event — a change or
// a ResyncNeeded alike — list again. The event only says "look now".
func Example() {
	m, err := monitor.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := rtnl.Open(rtnl.Host())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	relist := func() {
		routes, err := s.Routes()
		if err != nil {
			log.Printf("listing routes: %v", err)
			return
		}
		fmt.Println(len(routes), "routes")
	}
	relist()
	for ev := range m.Events() { // ends when m is closed
		if ev.Op == monitor.ResyncNeeded {
			log.Printf("changes were lost (%d overruns so far); re-listing", m.Overruns())
		}
		relist()
	}
}

// A consumer that needs only a wake-up reads Wake and debounces: a burst of
// changes costs one re-list.
func ExampleMonitor_Wake() {
	m, err := monitor.Open(rtnl.NamespaceAt("/var/run/netns/blue"))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for range m.Wake() {
		time.Sleep(50 * time.Millisecond) // let the burst settle
		select {
		case <-m.Wake(): // drop the wake-up the burst left pending
		default:
		}
		// … re-list and reconcile here …
	}
}
