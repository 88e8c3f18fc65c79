package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// raw assembles a file from a literal header and data buffer, with no
// padding and no checks, so tests can build malformed files.
func raw(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestEncodeLayout(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: []Tensor{
			F32("b", []int{2}, []float32{1, 2}),
			{Name: "a", DType: "U8", Shape: []int{3}, Data: []byte{7, 8, 9}},
		},
	}
	got, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := `{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}}`
	for len(wantHeader)%8 != 0 {
		wantHeader += " "
	}
	want := raw(wantHeader, []byte{7, 8, 9, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %q\nwant %q", got, want)
	}
	if n := binary.LittleEndian.Uint64(got); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{
		0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001),
	}
	randF32 := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	tests := []struct {
		name string
		file *File
	}{
		{"empty", &File{}},
		{"metadata only", &File{Metadata: map[string]string{"format": "pt", "note": `quote " and <tag> and ünïcode`}}},
		{"scalar", &File{Tensors: []Tensor{F32("s", []int{}, []float32{3.5})}}},
		{"zero-size tensors", &File{Tensors: []Tensor{
			F32("a", []int{0, 4}, nil), F32("b", []int{2}, []float32{1, 2}), F32("c", []int{3, 0}, nil),
		}}},
		{"special floats", &File{Tensors: []Tensor{F32("x", []int{len(special)}, special)}}},
		{"mixed dtypes", &File{Tensors: []Tensor{
			{Name: "bf", DType: "BF16", Shape: []int{3}, Data: []byte{1, 2, 3, 4, 5, 6}},
			{Name: "bool", DType: "BOOL", Shape: []int{2, 1}, Data: []byte{0, 1}},
			{Name: "f64", DType: "F64", Shape: []int{1}, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
			{Name: "i16", DType: "I16", Shape: []int{1}, Data: []byte{1, 2}},
			F32("w", []int{3, 5}, randF32(15)),
		}}},
		{"many", func() *File {
			f := &File{Metadata: map[string]string{"format": "pt"}}
			for i := range 20 {
				n := rng.IntN(7)
				f.Tensors = append(f.Tensors, F32(strings.Repeat("t", i+1), []int{n, 2}, randF32(2*n)))
			}
			return f
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := Encode(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.file.Tensors)
			slices.SortFunc(want, func(x, y Tensor) int { return strings.Compare(x.Name, y.Name) })
			if len(got.Tensors) != len(want) {
				t.Fatalf("got %d tensors, want %d", len(got.Tensors), len(want))
			}
			for i := range want {
				if !tensorsEqual(&got.Tensors[i], &want[i]) {
					t.Errorf("tensor %d: got %+v, want %+v", i, got.Tensors[i], want[i])
				}
			}
			if len(got.Metadata) != len(tc.file.Metadata) {
				t.Errorf("metadata: got %v, want %v", got.Metadata, tc.file.Metadata)
			}
			for k, v := range tc.file.Metadata {
				if got.Metadata[k] != v {
					t.Errorf("metadata[%q] = %q, want %q", k, got.Metadata[k], v)
				}
			}
			again, err := Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, again) {
				t.Errorf("Encode(Parse(Encode(f))) differs from Encode(f)")
			}
			// Read sees the same file as Parse.
			viaRead, err := Read(bytes.NewReader(enc), int64(len(enc)))
			if err != nil {
				t.Fatal(err)
			}
			if len(viaRead.Tensors) != len(got.Tensors) {
				t.Errorf("Read gave %d tensors, Parse %d", len(viaRead.Tensors), len(got.Tensors))
			}
		})
	}
}

func tensorsEqual(a, b *Tensor) bool {
	return a.Name == b.Name && a.DType == b.DType && slices.Equal(a.Shape, b.Shape) && bytes.Equal(a.Data, b.Data)
}

func TestFloat32sBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bits := []uint32{0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0x7fc12345, 0xffa00001}
	for range 100 {
		bits = append(bits, rng.Uint32())
	}
	vals := make([]float32, len(bits))
	for i, b := range bits {
		vals[i] = math.Float32frombits(b)
	}
	tt := F32("x", []int{len(vals)}, vals)
	got, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range bits {
		if g := math.Float32bits(got[i]); g != bits[i] {
			t.Fatalf("element %d: got bits %#08x, want %#08x", i, g, bits[i])
		}
	}
}

func TestFloat32sErrors(t *testing.T) {
	tests := []struct {
		t    Tensor
		want string
	}{
		{Tensor{Name: "h", DType: "F16", Shape: []int{1}, Data: []byte{0, 0}}, `tensor "h" has dtype F16, want F32`},
		{Tensor{Name: "odd", DType: "F32", Data: []byte{0, 0, 0}}, `tensor "odd" has 3 data bytes`},
	}
	for _, tc := range tests {
		_, err := tc.t.Float32s()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Float32s(%s) error = %v, want it to contain %q", tc.t.Name, err, tc.want)
		}
	}
}

func TestTensorLookup(t *testing.T) {
	f := &File{Tensors: []Tensor{F32("a", []int{1}, []float32{1}), F32("b", []int{1}, []float32{2})}}
	if tt, ok := f.Tensor("b"); !ok || tt.Name != "b" {
		t.Errorf(`Tensor("b") = %v, %v`, tt, ok)
	}
	if _, ok := f.Tensor("c"); ok {
		t.Errorf(`Tensor("c") found a tensor that does not exist`)
	}
}

func TestParseMalformed(t *testing.T) {
	f4 := make([]byte, 4)
	tests := []struct {
		name string
		file []byte
		want string // a fragment the error must contain
	}{
		{"empty input", nil, "shorter than the 8-byte header length"},
		{"short prefix", []byte{1, 0, 0}, "shorter than the 8-byte header length"},
		{"header longer than file", raw("{}", nil)[:9], "header length 2 exceeds the 1 bytes"},
		{"absurd header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "exceeds the 100000000-byte limit"},
		{"empty header", raw("", nil), "does not start with '{'"},
		{"header not an object", raw(`[1,2]`, nil), "does not start with '{'"},
		{"leading space", raw(` {}`, nil), "does not start with '{'"},
		{"invalid JSON", raw(`{"a":`, nil), "not valid JSON"},
		{"truncated object", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`, f4), "not valid JSON"},
		{"junk after object", raw(`{}x`, nil), "not valid JSON"},
		{"second object", raw(`{} {}`, nil), "data after the JSON object"},
		{"invalid UTF-8", raw("{\"\xff\":{}}", nil), "not valid UTF-8"},
		{"unknown dtype", raw(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a" has unknown dtype "F31"`},
		{"lower-case dtype", raw(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a" has unknown dtype "f32"`},
		{"dtype not a string", raw(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a": dtype 4 is not a string`},
		{"missing dtype", raw(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a" has no dtype`},
		{"missing shape", raw(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f4), `tensor "a" has no shape`},
		{"missing offsets", raw(`{"a":{"dtype":"F32","shape":[1]}}`, f4), `tensor "a" has no data_offsets`},
		{"null shape", raw(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, f4), `tensor "a": shape is null`},
		{"unknown field", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, f4), `tensor "a": unknown field "x"`},
		{"field name wrong case", raw(`{"a":{"DType":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a": unknown field "DType"`},
		{"entry not an object", raw(`{"a":[1]}`, nil), `tensor "a": header entry is not a JSON object`},
		{"negative dimension", raw(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f4), `tensor "a" has negative dimension`},
		{"fractional dimension", raw(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f4), `tensor "a": shape [1.5] is not an array of integers`},
		{"dimension overflows int64", raw(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f4), `tensor "a": shape`},
		{"shape product overflows", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, f4), `tensor "a" has shape [4294967296 4294967296], too large`},
		{"size mismatch", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f4), `tensor "a": shape [2] of F32 needs 8 bytes, data_offsets [0, 4] hold 4`},
		{"dtype size mismatch", raw(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a": shape [1] of F64 needs 8 bytes`},
		{"one offset", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f4), `tensor "a" has 1 data_offsets`},
		{"negative offset", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f4), `tensor "a" has invalid data_offsets [-4, 0]`},
		{"reversed offsets", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, f4), `tensor "a" has invalid data_offsets [4, 0]`},
		{"offsets beyond buffer", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f4), `tensor "a" has data_offsets [4, 8] beyond the 4-byte data buffer`},
		{"gap at start", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, f4), `tensor "a" starts at byte 2, leaving a gap of 2 bytes`},
		{"gap between", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, f4), `tensor "b" starts at byte 2`},
		{"overlap", raw(`{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, f4), `tensor "b" at [2, 4] overlaps tensor "a"`},
		{"alias", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "b" at [0, 4] overlaps tensor "a"`},
		{"trailing bytes", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, f4), "2 trailing bytes"},
		{"data but no tensors", raw(`{}`, f4), "4 trailing bytes"},
		{"duplicate name", raw(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, f4), `duplicate tensor name "a"`},
		{"duplicate field", raw(`{"a":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, f4), `duplicate key "dtype"`},
		{"metadata not object", raw(`{"__metadata__":"pt"}`, nil), "__metadata__ is not a JSON object"},
		{"metadata number value", raw(`{"__metadata__":{"epoch":3}}`, nil), `__metadata__ value for "epoch" is a number, want a string`},
		{"metadata null value", raw(`{"__metadata__":{"format":null}}`, nil), `__metadata__ value for "format" is null`},
		{"metadata nested", raw(`{"__metadata__":{"x":{}}}`, nil), `__metadata__ value for "x" is an object`},
		{"duplicate metadata", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate tensor name "__metadata__"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			if err == nil {
				t.Fatalf("Parse succeeded with %d tensors, want error containing %q", len(f.Tensors), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		tensors []string
	}{
		{"unpadded header", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{5}), []string{"a"}},
		{"data out of name order", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{5, 6}), []string{"a", "b"}},
		{"empty tensor mid-buffer", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"e":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},"z":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{5, 6}), []string{"a", "e", "z"}},
		{"null metadata", raw(`{"__metadata__":null}`, nil), nil},
		{"whitespace inside", raw("{ \"a\" : {\"dtype\":\"I8\",\n\"shape\":[ ],\"data_offsets\":[0,1]} }\t", []byte{1}), []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tt := range f.Tensors {
				names = append(names, tt.Name)
			}
			if !slices.Equal(names, tc.tensors) {
				t.Errorf("tensors %v, want %v", names, tc.tensors)
			}
		})
	}
	// Data is the right slice even when the file lays it out of name order.
	f, err := Parse(tests[1].file)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Tensor("a"); a.Data[0] != 6 {
		t.Errorf(`tensor "a" data = %v, want [6]`, a.Data)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		file *File
		want string
	}{
		{"shape mismatch", &File{Tensors: []Tensor{F32("w", []int{2, 2}, []float32{1, 2, 3})}}, `tensor "w": shape [2 2] of F32 needs 16 bytes, has 12`},
		{"unknown dtype", &File{Tensors: []Tensor{{Name: "w", DType: "Q4", Shape: []int{1}, Data: []byte{0}}}}, `tensor "w" has unknown dtype "Q4"`},
		{"negative dimension", &File{Tensors: []Tensor{{Name: "w", DType: "U8", Shape: []int{-1}}}}, `tensor "w" has negative dimension`},
		{"duplicate", &File{Tensors: []Tensor{F32("w", nil, []float32{1}), F32("w", nil, []float32{2})}}, `duplicate tensor name "w"`},
		{"reserved name", &File{Tensors: []Tensor{F32("__metadata__", nil, []float32{1})}}, "is reserved"},
		{"invalid UTF-8 name", &File{Tensors: []Tensor{F32("\xff", nil, []float32{1})}}, "not valid UTF-8"},
		{"invalid UTF-8 metadata", &File{Metadata: map[string]string{"k": "\xfe"}}, `metadata entry "k" is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// countingReader records how many bytes were read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestReadLimits(t *testing.T) {
	big := F32("w", []int{1000}, make([]float32, 1000))
	file, err := Encode(&File{Tensors: []Tensor{big}})
	if err != nil {
		t.Fatal(err)
	}
	hugeHeader := binary.LittleEndian.AppendUint64(nil, 50_000_000)
	hugeHeader = append(hugeHeader, make([]byte, 1<<16)...)
	tests := []struct {
		name     string
		input    []byte
		maxBytes int64
		want     string // "" for success
		maxRead  int64  // Read must not consume more than this
	}{
		{"exact limit", file, int64(len(file)), "", int64(len(file))},
		{"one byte over", file, int64(len(file)) - 1, "exceeds the", int64(len(file))},
		{"far over", append(file, make([]byte, 1<<20)...), int64(len(file)), "exceeds the", int64(len(file)) + 1},
		{"header over limit", hugeHeader, 1 << 20, "header alone is 50000000 bytes", 8},
		{"absurd header", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), 1 << 40, "exceeds the 100000000-byte limit", 8},
		{"truncated prefix", []byte{1, 2, 3}, 100, "reading header length", 3},
		{"tiny limit", file, 4, "smaller than the 8-byte header length", 0},
		{"malformed within limit", raw(`{"a":1}`, nil), 100, `tensor "a"`, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(tc.input)}
			_, err := Read(cr, tc.maxBytes)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Read error = %v, want it to contain %q", err, tc.want)
			}
			if cr.n > tc.maxRead {
				t.Errorf("Read consumed %d bytes, want at most %d", cr.n, tc.maxRead)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadPropagatesErrors(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(binary.LittleEndian.AppendUint64(nil, 2)), failingReader{})
	if _, err := Read(r, 1<<20); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Read error = %v, want the reader's error", err)
	}
}

func TestDTypeSize(t *testing.T) {
	tests := []struct {
		dtype string
		size  int
		ok    bool
	}{
		{"F32", 4, true}, {"F16", 2, true}, {"BF16", 2, true}, {"F64", 8, true},
		{"I64", 8, true}, {"I32", 4, true}, {"I16", 2, true}, {"I8", 1, true},
		{"U8", 1, true}, {"BOOL", 1, true}, {"f32", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		size, ok := DTypeSize(tc.dtype)
		if size != tc.size || ok != tc.ok {
			t.Errorf("DTypeSize(%q) = %d, %v; want %d, %v", tc.dtype, size, ok, tc.size, tc.ok)
		}
	}
}
