package train

import (
	"math/rand/v2"

	"github.com/lora-playground/lora-playground/core/lora"
	"github.com/lora-playground/lora-playground/core/model"
)

// dropoutSource is the random source of LoRA dropout. It makes every mask
// element a function of where it is, not of how many numbers were drawn
// before it:
//
//	u(step, k, e) = mix64(key(seed, step, k) + e·γ)
//
// for the element e = (row·T + t)·In + i of adapter k (in forward order) at
// step step, where row is the row's index in the whole batch, t the
// position and i the input feature; mix64 is SplitMix64's finaliser and γ
// its golden-ratio increment (a counter-based generator). So a shard that
// holds rows [row0, row0+B) of the batch draws exactly the masks a single
// worker draws for those rows, data-parallel training reproduces the
// single-worker run with dropout too, and a resumed run (Restore) draws the
// masks the uninterrupted run drew.
//
// It serves rand.Rand, whose Float32 takes one Uint64 per call, and relies on
// lora.Adapter.Forward drawing one Float32 per element of its (N,In) input,
// row-major, adapter after adapter in the order of model.Forward
// (layer by layer, modules q, k, v, o, up, down): the counter is turned back
// into (k, e). TestShardedDropoutMatchesSingleWorker holds that contract.
type dropoutSource struct {
	seed  uint64
	sizes []int // In of each adapter that draws, in forward order

	// The current forward pass.
	step, row0, rows, T int
	k, i                int    // adapter and element within it of the next draw
	key                 uint64 // key(seed, step, k)
}

const golden = 0x9e3779b97f4a7c15

// mix64 is SplitMix64's output function: a bijection of uint64 whose
// outputs pass BigCrush for consecutive inputs.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newDropout returns the source for m's adapters (nil when none drops out)
// and a rand.Rand over it.
func newDropout(m *model.Model, seed uint64) (*dropoutSource, *rand.Rand) {
	s := &dropoutSource{seed: seed}
	m.EachAdapter(func(_, _ int, a *lora.Adapter) {
		if a.Dropout > 0 {
			s.sizes = append(s.sizes, a.In)
		}
	})
	if len(s.sizes) == 0 {
		return nil, nil
	}
	return s, rand.New(s)
}

// begin prepares the draws of one forward pass over rows [row0, row0+rows)
// of the batch of step step (0-based), T positions per row.
func (s *dropoutSource) begin(step, row0, rows, T int) {
	s.step, s.row0, s.rows, s.T = step, row0, rows, T
	s.k, s.i = 0, 0
	s.rekey()
}

func (s *dropoutSource) rekey() {
	s.key = mix64(mix64(mix64(s.seed^0x64726f70)+uint64(s.step)*golden) + uint64(s.k)*golden)
}

// Uint64 returns the draw for the next mask element.
func (s *dropoutSource) Uint64() uint64 {
	if s.i == s.rows*s.T*s.sizes[s.k] {
		s.k, s.i = s.k+1, 0
		if s.k == len(s.sizes) {
			panic("train: LoRA dropout drew more numbers than its adapters have inputs; dropoutSource no longer matches lora.Adapter.Forward")
		}
		s.rekey()
	}
	e := uint64(s.row0*s.T*s.sizes[s.k] + s.i)
	s.i++
	return mix64(s.key + e*golden)
}
