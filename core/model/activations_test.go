package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lora-playground/lora-playground/core/lora"
)

// TestActivationsKeepOnlyWhatBackwardReads runs one forward and backward
// pass per method and checks the activation memory: a linear layer's input
// is kept only when its weight trains or an adapter hangs on it, and ln_1's
// output never (it is recomputed). Against evaluation, full fine-tuning
// keeps atty, ln2, gelu (6 (B,T,C)-sized buffers) and q (to recompute the
// attention weights) in every block, the embedding (block 0's input) and
// the head's input (ln_f's output); LoRA on q and v keeps only q.
func TestActivationsKeepOnlyWhatBackwardReads(t *testing.T) {
	const B, T = 2, 5
	var last *Activations
	bytesAfter := func(setup func(m *Model)) int64 {
		m := testModel(t, 11)
		setup(m)
		b := testBatch(2, m.Config, B, T)
		a := NewActivations(m.Config, B, T)
		m.lossOn(t, a, b)
		if m.G != nil {
			m.Backward(a, b.inputs, b.targets, b.weights)
		}
		last = a
		return a.Bytes()
	}
	eval := bytesAfter(func(m *Model) {})
	full := bytesAfter(func(m *Model) { m.G = NewWeights(m.Config, nil) })
	qv := bytesAfter(func(m *Model) {
		m.G = NewWeights(m.Config, func(Param) bool { return false })
		if err := m.AddLoRA(lora.Config{Rank: 2, Alpha: 2, Targets: []string{"q_proj", "v_proj"}}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		m.EachAdapter(func(l, mod int, ad *lora.Adapter) { ad.EnableGrad() })
	})
	// No (B,T,4C) scratch without an adapter on down_proj: its GELU and
	// gradient go block by block through mlpRows.
	if last.dgelu != nil || last.mlpRows == nil {
		t.Errorf("LoRA q,v: dgelu allocated %v, mlpRows %v", last.dgelu != nil, last.mlpRows != nil)
	}
	bytesAfter(func(m *Model) {
		m.G = NewWeights(m.Config, func(Param) bool { return false })
		if err := m.AddLoRA(lora.Config{Rank: 2, Alpha: 2, Targets: []string{"down_proj"}}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		m.EachAdapter(func(l, mod int, ad *lora.Adapter) { ad.EnableGrad() })
	})
	if last.dgelu == nil {
		t.Error("LoRA on down_proj: no whole dgelu for the adapter's input gradient")
	}
	c := testModel(t, 11).Config
	block := int64(4 * B * T * c.NEmbd * c.NLayer) // one (B,T,C) buffer in every block, in bytes
	head := int64(4 * B * T * c.NEmbd)             // one (B,T,C) buffer
	if full-eval != 7*block+2*head || qv-eval != block {
		t.Errorf("kept inputs: full %d, LoRA q,v %d bytes more than evaluation; want %d and %d", full-eval, qv-eval, 7*block+2*head, block)
	}
}

// TestBackwardIndependentOfBuffers: the gradients are the same to the bit
// whether the probabilities are stored over the logits (SoftmaxInPlace) or
// recomputed by Backward, and whether the batch fills the buffers or is
// smaller than they are (then the quarters of dgelu that hold dq, dk, dv and
// the recomputed ln1 are not where a tight layout would put them), for full
// fine-tuning and for LoRA on q and v.
func TestBackwardIndependentOfBuffers(t *testing.T) {
	const B, T = 2, 5
	grads := func(lora_ bool, maxB, maxT int, inPlace bool) []float32 {
		m := testModel(t, 21)
		c := m.Config
		if lora_ {
			trainAdaptersOnly(t, m, []string{"q_proj", "v_proj"})
		} else {
			m.G = NewWeights(c, nil)
		}
		a := NewActivations(c, maxB, maxT)
		a.SoftmaxInPlace = inPlace
		b := testBatch(3, c, B, T)
		for range 2 { // a second step over the buffers the first one left
			m.lossOn(t, a, b)
			m.Backward(a, b.inputs, b.targets, b.weights)
		}
		return flatGrads(m)
	}
	for _, lora_ := range []bool{false, true} {
		want := grads(lora_, B, T, false)
		for _, v := range []struct {
			maxB, maxT int
			inPlace    bool
		}{{B, T, true}, {B + 1, T + 1, false}, {B + 2, T, true}} {
			got := grads(lora_, v.maxB, v.maxT, v.inPlace)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("LoRA %v, buffers %d×%d, softmax in place %v: gradient %d is %v, want %v", lora_, v.maxB, v.maxT, v.inPlace, i, got[i], want[i])
				}
			}
		}
	}
}

// TestMLPRowBlocksChangeNoNumber: the MLP's block-wise passes (forward GELU
// and down_proj, backward dgelu and GELU) give the gradients of one block
// of the whole batch to the bit, for a batch of several blocks and a
// remainder, in full fine-tuning (down_proj's weight gradient from the
// kept GELU output), LoRA on q and v, and LoRA on every module (down_proj's
// adapter takes the whole-batch path), and for one block shorter than
// mlpBlock.
func TestMLPRowBlocksChangeNoNumber(t *testing.T) {
	defer func(b int) { mlpBlock = b }(mlpBlock)
	grads := func(targets []string, B, T int) []float32 {
		m := testModel(t, 31)
		c := m.Config
		if targets == nil {
			m.G = NewWeights(c, nil)
		} else {
			trainAdaptersOnly(t, m, targets)
		}
		a := NewActivations(c, B, T)
		b := testBatch(3, c, B, T)
		m.lossOn(t, a, b)
		m.Backward(a, b.inputs, b.targets, b.weights)
		return flatGrads(m)
	}
	for _, shape := range [][2]int{{13, 6}, {3, 5}} { // 78 rows: blocks of 32 and 46 rows; 15 rows: one block
		for _, targets := range [][]string{nil, {"q_proj", "v_proj"}, lora.Modules} {
			mlpBlock = 32 // the real size: in the SIMD build a shorter block would take another kernel
			blocks := grads(targets, shape[0], shape[1])
			mlpBlock = 1 << 30
			whole := grads(targets, shape[0], shape[1])
			for i := range whole {
				if math.Float32bits(blocks[i]) != math.Float32bits(whole[i]) {
					t.Fatalf("%d×%d rows, targets %v: gradient %d is %v in blocks, %v whole", shape[0], shape[1], targets, i, blocks[i], whole[i])
				}
			}
		}
	}
}

// trainAdaptersOnly freezes m's weights and adds rank-2 adapters on targets
// with gradients enabled and a random B (B = 0 would make dA vanish and
// hide differences in it).
func trainAdaptersOnly(t *testing.T, m *Model, targets []string) {
	t.Helper()
	m.G = NewWeights(m.Config, func(Param) bool { return false })
	if err := m.AddLoRA(lora.Config{Rank: 2, Alpha: 2, Targets: targets}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) {
		ad.EnableGrad()
		for i := range ad.B {
			ad.B[i] = float32(r.NormFloat64())
		}
	})
}

// flatGrads is every gradient m's last Backward wrote: the weights' (m.G),
// then each adapter's dA and dB.
func flatGrads(m *Model) []float32 {
	var out []float32
	for _, p := range m.G.Params(m.Config) {
		out = append(out, p.Data...)
	}
	m.EachAdapter(func(l, mod int, ad *lora.Adapter) { out = append(out, ad.DA...); out = append(out, ad.DB...) })
	return out
}

// TestDeadBufferReuseChangesNoNumber: lending buffers that are dead at the
// time (dln as the MLP's row buffer, resid[l+1] or the next block's up for
// W_downᵀ in the SIMD build) gives the gradients and losses of separate
// buffers to the bit, over two steps (the second one over what the first
// left), for LoRA on q and v and for full fine-tuning, with a batch large
// enough for every loan (258 rows ≥ 252 and ≥ 4C) and one where W_downᵀ
// fits only in the next block's up (12 rows: C ≤ 12 < 4C) and the last
// block's takes scratch.
func TestDeadBufferReuseChangesNoNumber(t *testing.T) {
	defer func(r bool) { reuseDeadBuffers = r }(reuseDeadBuffers)
	run := func(targets []string, B, T int, reuse bool) ([]float32, []float64, *Activations) {
		reuseDeadBuffers = reuse
		m := testModel(t, 41)
		if targets == nil {
			m.G = NewWeights(m.Config, nil)
		} else {
			trainAdaptersOnly(t, m, targets)
		}
		a := NewActivations(m.Config, B, T)
		var losses []float64
		for step := range 2 {
			b := testBatch(uint64(5+step), m.Config, B, T)
			losses = append(losses, m.lossOn(t, a, b))
			m.Backward(a, b.inputs, b.targets, b.weights)
		}
		return flatGrads(m), losses, a
	}
	c := testConfig()
	for _, shape := range [][2]int{{43, 6}, {2, 6}} {
		N := shape[0] * shape[1]
		for _, targets := range [][]string{{"q_proj", "v_proj"}, nil} {
			want, wantLoss, sep := run(targets, shape[0], shape[1], false)
			got, gotLoss, lent := run(targets, shape[0], shape[1], true)
			if sep.mlpRows == nil || (lent.mlpRows == nil) != (N >= 4*(2*mlpBlock-1)) {
				t.Errorf("%d rows, targets %v: mlpRows allocated %v with loans, %v without", N, targets, lent.mlpRows != nil, sep.mlpRows != nil)
			}
			if (lent.freeDuringMLP(0, 4*c.NEmbd*c.NEmbd) == nil) != (N < c.NEmbd) || (lent.freeDuringMLP(c.NLayer-1, 4*c.NEmbd*c.NEmbd) == nil) != (N < 4*c.NEmbd) {
				t.Errorf("%d rows: W_downᵀ has no free buffer where it should or one where it should not", N)
			}
			for i := range wantLoss {
				if gotLoss[i] != wantLoss[i] {
					t.Fatalf("%d rows, targets %v: loss of step %d is %v with loans, %v without", N, targets, i+1, gotLoss[i], wantLoss[i])
				}
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%d rows, targets %v: gradient %d is %v with loans, %v without", N, targets, i, got[i], want[i])
				}
			}
		}
	}
}
