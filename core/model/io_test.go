package model

import (
	"math"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/safetensors"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel(t, 31)
	dir := t.TempDir()
	if err := m.Save(dir, map[string]string{"note": "test"}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := m.W.Params(m.Config)
	for i, p := range got.W.Params(got.Config) {
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(want[i].Data[j]) {
				t.Fatalf("%s[%d] changed in the round trip", p.Name, j)
			}
		}
	}
}

func TestDecodeWeightsRejectsMismatches(t *testing.T) {
	m := testModel(t, 32)
	c := m.Config
	good, err := m.EncodeWeights(nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*safetensors.File)) []byte {
		sf, err := safetensors.Parse(good)
		if err != nil {
			t.Fatal(err)
		}
		f(sf)
		b, err := safetensors.Encode(sf)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"missing tensor", edit(func(f *safetensors.File) { f.Tensors = f.Tensors[1:] }), "is missing"},
		{"wrong shape", edit(func(f *safetensors.File) {
			tt, _ := f.Tensor("ln_f.bias")
			*tt = safetensors.F32("ln_f.bias", []int{2, c.NEmbd / 2}, make([]float32, c.NEmbd))
		}), "has shape [2 4]"},
		{"NaN", edit(func(f *safetensors.File) {
			v := make([]float32, c.NEmbd)
			v[3] = float32(math.NaN())
			tt, _ := f.Tensor("ln_f.bias")
			*tt = safetensors.F32("ln_f.bias", []int{c.NEmbd}, v)
		}), "non-finite"},
		{"extra tensor", edit(func(f *safetensors.File) {
			f.Tensors = append(f.Tensors, safetensors.F32("lm_head.weight", []int{1}, []float32{0}))
		}), "unexpected tensor lm_head.weight"},
		{"truncated", good[:len(good)-5], ""},
	} {
		_, err := DecodeWeights(c, tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestParseConfigRejectsBadShapes(t *testing.T) {
	for _, s := range []string{`{`, `{"vocab_size":97,"n_ctx":64,"n_embd":130,"n_head":4,"n_layer":2}`, `{"vocab_size":97,"n_ctx":0,"n_embd":128,"n_head":4,"n_layer":2}`} {
		if _, err := ParseConfig([]byte(s)); err == nil {
			t.Errorf("config %s accepted", s)
		}
	}
}
