// Package wasmimage packages plugin.wasm as the image Istio's WasmPlugin
// pulls, without a Docker daemon.
//
// The format is the "compat" variant of the Wasm image specification with
// Docker media types: one layer holding plugin.wasm on an empty base. It is
// what Istio's own guide builds (a Dockerfile `FROM scratch` +
// `COPY plugin.wasm ./`), any registry stores it, and Istio's fetcher
// (pkg/wasm/imagefetcher.go) reads it in its first branch: a Docker manifest
// whose last layer is a gzip tar with a file named plugin.wasm. The OCI
// artifact variant needs registries that accept custom media types, and the
// OCI media types of the compat variant do not survive a docker-save
// tarball; with Docker media types the tarball and the pushed image are the
// same image, digest for digest.
package wasmimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FileName is the name Istio looks for in the layer.
const FileName = "plugin.wasm"

// Build returns the image of a wasm module. It is reproducible: the same
// module gives the same digest, so a WasmPlugin can pin it.
func Build(wasm []byte) (v1.Image, error) {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, fmt.Errorf("not a wasm module (no \\0asm magic)")
	}
	layerTar, err := singleFileTar(FileName, wasm)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	img = mutate.ConfigMediaType(img, types.DockerConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.DockerLayer})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	// The platform the module was built for (GOOS=wasip1 GOARCH=wasm);
	// Istio does not read it, but image tools show it.
	cfg.OS, cfg.Architecture = "wasip1", "wasm"
	return mutate.ConfigFile(img, cfg)
}

// singleFileTar is a tar with one regular file and fixed metadata.
func singleFileTar(name string, content []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Name: name, Mode: 0o644, Size: int64(len(content)),
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTarball writes a docker-save tarball tagged ref, for `docker load`,
// `crane push` or `kind load image-archive`.
func WriteTarball(path string, ref name.Tag, img v1.Image) error {
	return tarball.WriteToFile(path, ref, img)
}

// Push uploads the image with the credentials of ~/.docker/config.json.
func Push(ref name.Reference, img v1.Image) error {
	return remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain))
}
