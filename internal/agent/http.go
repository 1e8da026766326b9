package agent

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the agent's HTTP handler:
//
//   - GET /metrics: the Prometheus text (or protobuf) exposition of m;
//   - GET /healthz: 200 "ok" as long as the process serves requests;
//   - GET /readyz: 200 "ready" once pending returns no scope, 503 listing
//     the scopes that have not run a pass to its end yet before that.
//     Either way, lines after the first name the scopes waiting for their
//     namespace (waiting, nil: none) and the degraded ones, each with why
//     (degraded, nil: none): some of their objects failed, are blocked or
//     are in conflict, and the rest converged. Both count as ready.
//
// Any other path is 404.
func Handler(m *Metrics, pending, waiting, degraded func() []string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var wait []string
		if waiting != nil {
			wait = waiting()
		}
		if p := pending(); len(p) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: scopes not converged yet: %s\n", strings.Join(p, ", "))
		} else {
			fmt.Fprintln(w, "ready")
		}
		if len(wait) > 0 {
			fmt.Fprintf(w, "waiting for their namespace (counted as ready): %s\n", strings.Join(wait, ", "))
		}
		if degraded != nil {
			for _, d := range degraded() {
				fmt.Fprintf(w, "degraded: %s\n", d)
			}
		}
	})
	return mux
}
