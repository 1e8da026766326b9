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
//     the scopes that have not converged yet before that. Either way a
//     second line names the scopes waiting for their namespace, which
//     waiting (nil: none) returns; they count as ready (see Agent.Pending).
//
// Any other path is 404.
func Handler(m *Metrics, pending, waiting func() []string) http.Handler {
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
	})
	return mux
}
