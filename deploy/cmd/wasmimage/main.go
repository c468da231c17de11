// Command wasmimage is `make image`: it packages plugin.wasm as an image
// Istio's WasmPlugin can pull (see package wasmimage), writes it as a
// tarball and, given -push, uploads it to a registry.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/llmproxy/llmproxy/deploy/wasmimage"
)

func main() {
	wasmPath := flag.String("wasm", "plugin.wasm", "the built plugin")
	out := flag.String("out", "build/llmproxy-image.tar", "tarball to write")
	tag := flag.String("tag", "llmproxy:0.1.0", "the tarball's image name")
	push := flag.String("push", "", "registry reference to push to, e.g. registry.example.com/llmproxy:0.1.0")
	flag.Parse()
	if err := run(*wasmPath, *out, *tag, *push); err != nil {
		fmt.Fprintln(os.Stderr, "wasmimage:", err)
		os.Exit(1)
	}
}

func run(wasmPath, out, tag, push string) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	img, err := wasmimage.Build(wasm)
	if err != nil {
		return fmt.Errorf("%s: %v", wasmPath, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := wasmimage.WriteTarball(out, ref, img); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s, digest %s\n", out, ref, digest)
	if push == "" {
		return nil
	}
	dst, err := name.ParseReference(push)
	if err != nil {
		return err
	}
	if err := wasmimage.Push(dst, img); err != nil {
		return err
	}
	fmt.Printf("pushed %s@%s; in a WasmPlugin: url: oci://%s\n", dst, digest, dst)
	return nil
}
