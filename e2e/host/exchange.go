package host

import "time"

// Exchange is one HTTP stream as Envoy would deliver it to the filter.
type Exchange struct {
	ClusterName      string      // e.g. "outbound|443||dashscope.aliyuncs.com"
	RequestHeaders   [][2]string // includes :method :path :authority :scheme
	RequestBody      [][]byte    // chunks; empty => headers carry end_of_stream
	RequestTrailers  [][2]string
	ResponseHeaders  [][2]string // includes :status
	ResponseBody     [][]byte
	ResponseTrailers [][2]string
	// ResetAfterResponseBodyChunks > 0 simulates a downstream reset: only that
	// many response chunks arrive, never end_of_stream, then log/done/delete.
	ResetAfterResponseBodyChunks int
	// ResetBeforeResponse: the stream is reset once the request is sent,
	// before any response (the client left, or the upstream never
	// answered); then log/done/delete.
	ResetBeforeResponse bool
}

// CallbackAction is one filter callback and the action it returned.
type CallbackAction struct {
	Callback string
	Action   uint32
}

// LocalReply is a response generated inside the proxy.
type LocalReply struct {
	Status     uint32
	Body       string
	Headers    [][2]string
	Details    string
	GrpcStatus int32
	ByHost     bool // true when Envoy itself replied (e.g. 413 buffer overflow)
}

// Result is what one Do() observed.
type Result struct {
	Actions     []CallbackAction
	FilterState map[string]string // key "wasm.<path>"
	// LoggedFilterState is the filter state when the access log was
	// written (see Options.OnLogFirst).
	LoggedFilterState map[string]string
	FilterStateSetIn  map[string]string // key -> callback of the last set
	FilterStateOrder  []string          // keys in first-set order

	// What upstream (request) and downstream (response) received. A live
	// Stream hands the bodies out event by event and leaves them nil here.
	ForwardedRequestHeaders   [][2]string
	ForwardedResponseHeaders  [][2]string
	ForwardedRequestBody      []byte
	ForwardedResponseBody     []byte
	ForwardedRequestTrailers  [][2]string
	ForwardedResponseTrailers [][2]string

	// UpstreamCluster is the cluster the router sent the request to (see
	// Options.Routes), and RouteCacheCleared how often the plugin called
	// clear_route_cache.
	UpstreamCluster   string
	RouteCacheCleared int

	LocalReply   *LocalReply
	Logs         []LogLine
	ResponseCode int    // status the client got (0 if none)
	Reset        bool   // stream reset: close_stream, overflow, simulated reset
	DoneResult   uint32 // proxy_on_done return value
	StartTime    time.Time
}

// side is one direction of the stream (decoder or encoder path).
type side struct {
	resp               bool
	hdr, trl           *headerMap
	hdrOpen, trlOpen   bool // Envoy drops its pointer once headers continue
	hdrSent            bool
	stopAll            bool   // headers paused everything; body not delivered
	stopAllBuffer      bool   // ... with a buffer limit (StopAllIterationAndBuffer)
	held               []byte // data Envoy's filter manager holds back
	visible            []byte // the fresh chunk when not buffering
	visibleIsHeld      bool
	buffering          bool // last body callback said StopIterationAndBuffer
	bodyOpen           bool // a body buffer exists for get_buffer_bytes
	continued, started bool
	forwarded          []byte
	forwardedTrl       [][2]string
	headersCb, bodyCb  string
	trailersCb         string

	// endIn: the caller delivered this direction's end of stream; endSent:
	// it went on, nothing held back.
	endIn, endSent bool
	// What a live stream (live.go) has not handed to its caller yet.
	pending                      []byte
	hdrTaken, trlTaken, endTaken bool
}

type stream struct {
	id          uint32
	ex          *Exchange
	res         *Result
	err         error
	req, resp   side
	logPhase    bool
	reqHdrsDone bool // request headers callback finished: cluster name readable
	respCode    int
	// cluster is the route the router uses; routeCleared says it is to
	// be picked again when the headers reach the router.
	cluster      string
	route        Route
	routeCleared bool
	pendingLR    *LocalReply
	ended        bool            // local reply or reset: no more request/response data
	stopped      *CallbackAction // the first callback that did not return Continue
	// live: a Stream (live.go) takes the forwarded bytes step by step, so
	// they are not collected in the Result. direct: the proxy replaced
	// the response without the filter (local reply after the response
	// began).
	live, direct bool
	taken        struct{ lr, reset, direct bool }
}

func (s *stream) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}
