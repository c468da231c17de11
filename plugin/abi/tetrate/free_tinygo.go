//go:build tinygo

package tetrate

import "unsafe"

// libcFree is the free that TinyGo's runtime exports next to malloc
// (src/runtime/arch_tinygowasm_malloc.go). A body-less //export declares the
// C symbol, as TinyGo's own runtime.go does for malloc; the linker resolves
// it to the runtime's definition, so no import is added. That free only
// forgets the block (the GC reclaims it later) and aborts on a pointer malloc
// did not return, hence release's rules.
//
//export free
func libcFree(ptr unsafe.Pointer)

func freeHost(p *byte) { libcFree(unsafe.Pointer(p)) }
