//go:build wasip1

package main

import "unsafe"

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(level unsafe.Pointer) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(typ, start, length uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(typ, start, length uint32, data unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(path unsafe.Pointer, size uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_property
func proxySetProperty(path unsafe.Pointer, pathSize uint32, val unsafe.Pointer, valSize uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeader(typ uint32, key unsafe.Pointer, keySize uint32, val unsafe.Pointer, valSize uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(typ uint32, name unsafe.Pointer, size uint32, id unsafe.Pointer) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, details unsafe.Pointer, detailsSize uint32, body unsafe.Pointer, bodySize uint32, headers unsafe.Pointer, headersSize uint32, grpc int32) uint32

//go:wasmimport env proxy_http_call
func proxyHTTPCall(up unsafe.Pointer, upSize uint32, h unsafe.Pointer, hs uint32, b unsafe.Pointer, bs uint32, t unsafe.Pointer, ts uint32, timeout uint32, token unsafe.Pointer) uint32

func ptr(b []byte) (unsafe.Pointer, uint32) {
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), uint32(len(b))
}

func logf(level uint32, msg string) {
	p, n := ptr([]byte(msg))
	proxyLog(level, p, n)
}

// fetch reads a (ptr,size) pair the host wrote as two u32 values.
func fetch(call func(pp, sp unsafe.Pointer) uint32) ([]byte, uint32) {
	var p, n uint32
	st := call(unsafe.Pointer(&p), unsafe.Pointer(&n))
	if st != 0 || n == 0 {
		return nil, st
	}
	return unsafe.Slice((*byte)(unsafe.Add(nil, p)), n), st
}

func getBuffer(typ, size uint32) ([]byte, uint32) {
	return fetch(func(pp, sp unsafe.Pointer) uint32 { return proxyGetBufferBytes(typ, 0, size, pp, sp) })
}

func setBuffer(typ, start, length uint32, data []byte) uint32 {
	p, n := ptr(data)
	return proxySetBufferBytes(typ, start, length, p, n)
}

func getProperty(path string) (string, uint32) {
	pp, pn := ptr([]byte(path))
	b, st := fetch(func(rp, rs unsafe.Pointer) uint32 { return proxyGetProperty(pp, pn, rp, rs) })
	return string(b), st
}

func setProperty(path, val string) uint32 {
	pp, pn := ptr([]byte(path))
	vp, vn := ptr([]byte(val))
	return proxySetProperty(pp, pn, vp, vn)
}

func replaceHeader(typ uint32, k, v string) uint32 {
	kp, kn := ptr([]byte(k))
	vp, vn := ptr([]byte(v))
	return proxyReplaceHeader(typ, kp, kn, vp, vn)
}

func defineMetric(typ uint32, name string) uint32 {
	var id uint32
	p, n := ptr([]byte(name))
	proxyDefineMetric(typ, p, n, unsafe.Pointer(&id))
	return id
}

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_set_flags
func fdFdstatSetFlags(fd, flags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_get
func fdFdstatGet(fd uint32, stat unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 poll_oneoff
func pollOneoff(in, out unsafe.Pointer, n uint32, nevents unsafe.Pointer) uint32
