// Command mockllm serves the recorded provider exchanges under
// testdata/cases over HTTP, for the Envoy-in-Docker e2e (e2e/docker) and
// for trying envoy.yaml by hand. Name a case with the x-mock-case header,
// or send a recorded request and get the case recorded for it.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/llmproxy/llmproxy/e2e/mockllm"
	"github.com/llmproxy/llmproxy/internal/fixture"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	chunk := flag.Int("chunk", 64, "bytes per streamed write")
	pause := flag.Duration("pause", time.Millisecond, "pause between streamed writes")
	flag.Parse()
	cases, err := fixture.Load() // testdata/cases above the working directory
	if err != nil {
		log.Fatal(err)
	}
	s := mockllm.New(cases)
	s.Chunk, s.Pause = *chunk, *pause
	log.Printf("mockllm: %d cases on %s", len(s.Names()), *addr)
	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
