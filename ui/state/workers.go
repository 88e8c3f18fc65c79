package state

// Data-parallel training: Go's WebAssembly runs on one thread, so the
// trainer uses more cores by splitting each step's batch between Web
// Workers (wasm/trainer/shards.go). The count is a page setting like any
// other (key "workers" in the link), but it changes how fast a run trains,
// never what it computes, so it is not in NeedsRestart.
const (
	// MaxWorkers matches the worker protocol's limit (protocol.MaxWorkers).
	MaxWorkers = 8
	// MaxAutoWorkers caps the automatic choice: each worker holds its own
	// model copy and Go runtime (~20 MB), and the page's own thread needs
	// a core too on larger machines.
	MaxAutoWorkers = 4
)

// WorkerCount is the number of training workers to ask for on a device
// with cores logical cores (navigator.hardwareConcurrency; 0 when
// unknown): Workers when set, else cores capped at MaxAutoWorkers; never
// more than the batch has rows, since each worker needs at least one.
func (s State) WorkerCount(cores int) int {
	n := s.Workers
	if n <= 0 {
		n = min(max(cores, 1), MaxAutoWorkers)
	}
	return max(1, min(n, MaxWorkers, max(s.Batch, 1)))
}
