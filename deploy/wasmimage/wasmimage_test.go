package wasmimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A minimal module: magic, version, and a custom section so it has content.
var fakeWasm = append([]byte("\x00asm\x01\x00\x00\x00\x00\x05\x04test"), bytes.Repeat([]byte{0}, 100)...)

// extractLikeIstio reads the module the way Istio's image fetcher does for a
// Docker manifest (pkg/wasm/imagefetcher.go extractDockerImage): the last
// layer must be a Docker gzip layer, and the file is found by base name. It
// also requires that plugin.wasm is the layer's only file.
func extractLikeIstio(t *testing.T, img v1.Image) []byte {
	t.Helper()
	mt, err := img.MediaType()
	if err != nil || mt != types.DockerManifestSchema2 {
		t.Fatalf("manifest media type %q (%v)", mt, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	if lt, _ := layers[0].MediaType(); lt != types.DockerLayer {
		t.Fatalf("layer media type %q", lt)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var names []string
	var content []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if filepath.Base(h.Name) == FileName && h.Typeflag == tar.TypeReg {
			content, _ = io.ReadAll(tr)
		}
	}
	if len(names) != 1 || names[0] != FileName {
		t.Fatalf("layer files %v, want [%s]", names, FileName)
	}
	return content
}

func TestTarballRoundTrip(t *testing.T) {
	img, err := Build(fakeWasm)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	tag, _ := name.NewTag("llmproxy:test")
	if err := WriteTarball(path, tag, img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	got := extractLikeIstio(t, back)
	if sha256.Sum256(got) != sha256.Sum256(fakeWasm) {
		t.Fatal("plugin.wasm in the tarball differs from the module")
	}
	// The same digest means the tarball holds exactly the image Push uploads.
	want, _ := img.Digest()
	if d, _ := back.Digest(); d != want {
		t.Fatalf("tarball image digest %s, built %s", d, want)
	}
	m, err := back.Manifest()
	if err != nil || m.Config.MediaType != types.DockerConfigJSON {
		t.Fatalf("config media type %q (%v)", m.Config.MediaType, err)
	}
	cfg, _ := back.ConfigFile()
	if cfg.OS != "wasip1" || cfg.Architecture != "wasm" || len(cfg.RootFS.DiffIDs) != 1 {
		t.Fatalf("config %+v", cfg)
	}
}

func TestReproducible(t *testing.T) {
	a, _ := Build(fakeWasm)
	b, _ := Build(fakeWasm)
	other, _ := Build(append(append([]byte{}, fakeWasm...), 1))
	da, _ := a.Digest()
	db, _ := b.Digest()
	do, _ := other.Digest()
	if da != db || da == do {
		t.Fatalf("digests %s %s %s", da, db, do)
	}
}

func TestRejectsNonWasm(t *testing.T) {
	if _, err := Build([]byte("#!/bin/sh")); err == nil {
		t.Fatal("accepted a file that is not wasm")
	}
}

// Push to an in-process registry on loopback and read the manifest back as
// Istio's fetcher gets it from a registry.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ref, err := name.ParseReference(u.Host + "/llmproxy:test")
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Build(fakeWasm)
	if err := Push(ref, img); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		MediaType string
		Config    struct{ MediaType string }
		Layers    []struct{ MediaType string }
	}
	if err := json.Unmarshal(desc.Manifest, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.MediaType != string(types.DockerManifestSchema2) || raw.Config.MediaType != string(types.DockerConfigJSON) ||
		len(raw.Layers) != 1 || raw.Layers[0].MediaType != string(types.DockerLayer) {
		t.Fatalf("manifest in the registry: %s", desc.Manifest)
	}
	pulled, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if got := extractLikeIstio(t, pulled); !bytes.Equal(got, fakeWasm) {
		t.Fatal("pulled plugin.wasm differs")
	}
	if !strings.HasPrefix(desc.Digest.String(), "sha256:") {
		t.Fatalf("digest %s", desc.Digest)
	}
}
