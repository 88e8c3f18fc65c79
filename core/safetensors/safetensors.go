// Package safetensors reads and writes the safetensors tensor file format
// (https://github.com/huggingface/safetensors), the format Hugging Face uses
// for model and adapter weights.
//
// # Format
//
// A safetensors file is three parts, back to back:
//
//	8 bytes   N, the length of the header, unsigned little-endian
//	N bytes   the header: a UTF-8 JSON object
//	rest      the byte buffer holding every tensor's raw data
//
// The header maps each tensor name to
//
//	{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//
// where begin and end are byte offsets into the byte buffer (not into the
// file) and end−begin = product(shape) × size(dtype). A scalar has shape []
// and one element. Data is little-endian and row-major (C order). The key
// "__metadata__" is reserved for an optional object of free-form
// string→string pairs (PyTorch writers put {"format": "pt"} there).
//
// The tensors' ranges must tile the byte buffer exactly: sorted by begin,
// each starts where the previous one ended, the first at 0 and the last at
// the end of the file. There are no holes, no overlaps and no trailing bytes;
// a file that breaks this is refused, because a hole is where smuggled or
// corrupted data would hide and an overlap makes two tensors alias.
//
// # This implementation
//
// Parse is strict: anything the format does not allow is an error that says
// what is wrong and, when a tensor is at fault, names it. It never panics
// and never allocates more than a small multiple of its input. Encode is
// deterministic: tensors are written in name order, data laid out in that
// same order, and the header padded with spaces to a multiple of 8 bytes as
// Hugging Face's writer does, so Encode(Parse(Encode(f))) is byte-identical
// to Encode(f).
package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxHeaderBytes caps the JSON header. The reference implementation uses the
// same 100 MB limit; a larger length prefix is corrupt or hostile.
const MaxHeaderBytes = 100_000_000

// metadataKey is the reserved header key of the string→string metadata.
const metadataKey = "__metadata__"

// dtypeSizes gives the size in bytes of one element of each dtype the
// format defines with a whole number of bytes per element.
var dtypeSizes = map[string]int{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"F64":     8,
	"I64":     8,
	"U64":     8,
}

// DTypeSize returns the size in bytes of one element of dtype, and whether
// dtype is one this package knows.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one named tensor. Data holds the raw little-endian bytes,
// product(Shape) × DTypeSize(DType) of them, row-major.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// File is the decoded content of a safetensors file. Tensors are sorted by
// name. Metadata is nil when the file has no "__metadata__" entry.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// F32 builds a float32 tensor, copying shape and data. It does not check
// that shape matches len(data); Encode does.
func F32(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "F32", Shape: slices.Clone(shape), Data: b}
}

// Float32s decodes the data of an F32 tensor. Bits are preserved exactly:
// negative zero, subnormals and NaN payloads come back as they were written.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType != "F32" {
		return nil, fmt.Errorf("safetensors: tensor %q has dtype %s, want F32", t.Name, t.DType)
	}
	if len(t.Data)%4 != 0 {
		return nil, fmt.Errorf("safetensors: tensor %q has %d data bytes, not a multiple of 4", t.Name, len(t.Data))
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// dataSize returns product(shape) × size(dtype), or an error if the dtype is
// unknown, a dimension is negative, or the product does not fit in an int.
func dataSize(name, dtype string, shape []int64) (int, error) {
	size, ok := dtypeSizes[dtype]
	if !ok {
		return 0, fmt.Errorf("safetensors: tensor %q has unknown dtype %q", name, dtype)
	}
	n := int64(size)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("safetensors: tensor %q has negative dimension in shape %v", name, shape)
		}
	}
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > math.MaxInt/d {
			return 0, fmt.Errorf("safetensors: tensor %q has shape %v, too large", name, shape)
		}
		n *= d
	}
	return int(n), nil
}

// tensorInfo is one header entry.
type tensorInfo struct {
	DType       string
	Shape       []int64
	DataOffsets []int64
}

// decodeTensorInfo decodes the header entry of tensor name. It matches field
// names exactly (encoding/json alone would accept "DType" for "dtype") and
// requires all three fields, each non-null.
func decodeTensorInfo(name string, raw json.RawMessage) (tensorInfo, error) {
	var info tensorInfo
	if len(raw) == 0 || raw[0] != '{' {
		return info, fmt.Errorf("safetensors: tensor %q: header entry is not a JSON object", name)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return info, fmt.Errorf("safetensors: tensor %q: bad header entry: %v", name, err)
	}
	for k := range fields {
		if k != "dtype" && k != "shape" && k != "data_offsets" {
			return info, fmt.Errorf("safetensors: tensor %q: unknown field %q in header entry", name, k)
		}
	}
	for _, f := range []struct {
		key  string
		kind string
		dst  any
	}{
		{"dtype", "a string", &info.DType},
		{"shape", "an array of integers", &info.Shape},
		{"data_offsets", "an array of integers", &info.DataOffsets},
	} {
		v, ok := fields[f.key]
		if !ok {
			return info, fmt.Errorf("safetensors: tensor %q has no %s", name, f.key)
		}
		if string(v) == "null" {
			return info, fmt.Errorf("safetensors: tensor %q: %s is null, want %s", name, f.key, f.kind)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return info, fmt.Errorf("safetensors: tensor %q: %s %s is not %s", name, f.key, v, f.kind)
		}
	}
	return info, nil
}

// Parse decodes a complete safetensors file held in b. The returned tensors'
// Data slices alias b.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderBytes)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes after the length prefix", n, len(b)-8)
	}
	header := b[8 : 8+n]
	buf := b[8+n:]
	// The writer pads with trailing spaces; JSON allows whitespace anyway.
	if !utf8.Valid(header) {
		return nil, errors.New("safetensors: header is not valid UTF-8")
	}
	entries, err := splitHeader(header)
	if err != nil {
		return nil, err
	}

	f := &File{}
	type placed struct {
		t          Tensor
		begin, end int64
	}
	var all []placed
	for _, e := range entries {
		if e.key == metadataKey {
			if err := decodeMetadata(e.value, f); err != nil {
				return nil, err
			}
			continue
		}
		name := e.key
		info, err := decodeTensorInfo(name, e.value)
		if err != nil {
			return nil, err
		}
		offs := info.DataOffsets
		if len(offs) != 2 {
			return nil, fmt.Errorf("safetensors: tensor %q has %d data_offsets, want [begin, end]", name, len(offs))
		}
		size, err := dataSize(name, info.DType, info.Shape)
		if err != nil {
			return nil, err
		}
		begin, end := offs[0], offs[1]
		if begin < 0 || end < begin {
			return nil, fmt.Errorf("safetensors: tensor %q has invalid data_offsets [%d, %d]", name, begin, end)
		}
		if end > int64(len(buf)) {
			return nil, fmt.Errorf("safetensors: tensor %q has data_offsets [%d, %d] beyond the %d-byte data buffer", name, begin, end, len(buf))
		}
		if end-begin != int64(size) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d", name, info.Shape, info.DType, size, begin, end, end-begin)
		}
		shape := make([]int, len(info.Shape))
		for i, d := range info.Shape {
			shape[i] = int(d) // fits: dataSize bounded the product
		}
		all = append(all, placed{
			t:     Tensor{Name: name, DType: info.DType, Shape: shape, Data: buf[begin:end:end]},
			begin: begin, end: end,
		})
	}

	// The ranges must tile buf: sorted by (begin, end), each starts where the
	// previous one ended. Ties on begin are broken by end so that an empty
	// tensor sitting at the start of a non-empty one sorts first.
	slices.SortFunc(all, func(x, y placed) int {
		if c := cmp.Compare(x.begin, y.begin); c != 0 {
			return c
		}
		if c := cmp.Compare(x.end, y.end); c != 0 {
			return c
		}
		return strings.Compare(x.t.Name, y.t.Name)
	})
	var at int64
	for i, p := range all {
		if p.begin > at {
			return nil, fmt.Errorf("safetensors: tensor %q starts at byte %d, leaving a gap of %d bytes after byte %d", p.t.Name, p.begin, p.begin-at, at)
		}
		if p.begin < at {
			return nil, fmt.Errorf("safetensors: tensor %q at [%d, %d] overlaps tensor %q", p.t.Name, p.begin, p.end, all[i-1].t.Name)
		}
		at = p.end
	}
	if at != int64(len(buf)) {
		return nil, fmt.Errorf("safetensors: %d trailing bytes after the last tensor's data", int64(len(buf))-at)
	}

	f.Tensors = make([]Tensor, len(all))
	for i, p := range all {
		f.Tensors[i] = p.t
	}
	slices.SortFunc(f.Tensors, func(x, y Tensor) int { return strings.Compare(x.Name, y.Name) })
	return f, nil
}

type headerEntry struct {
	key   string
	value json.RawMessage
}

// splitHeader decodes the top-level JSON object of the header into its
// entries in file order, refusing duplicate keys at any depth (encoding/json
// would silently keep the last) and anything after the object but spaces.
func splitHeader(header []byte) ([]headerEntry, error) {
	// The reference reader insists on '{' as the very first byte.
	if len(header) == 0 || header[0] != '{' {
		return nil, errors.New("safetensors: header does not start with '{'")
	}
	if err := checkDuplicateKeys(header); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fmt.Errorf("safetensors: header is not valid JSON: %v", err)
	}
	var entries []headerEntry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("safetensors: header is not valid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("safetensors: header is not valid JSON: unexpected %v", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("safetensors: header entry %q is not valid JSON: %v", key, err)
		}
		entries = append(entries, headerEntry{key, v})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("safetensors: header is not valid JSON: %v", err)
	}
	rest := header[dec.InputOffset():]
	if len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, errors.New("safetensors: header has data after the JSON object")
	}
	return entries, nil
}

// checkDuplicateKeys walks the JSON token stream of data and reports the
// first object key that appears twice in the same object.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object   bool
		seen     map[string]bool
		wantsKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("safetensors: header is not valid JSON: %v", err)
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantsKey {
			if key, ok := tok.(string); ok {
				if stack[top].seen[key] {
					if top == 0 {
						return fmt.Errorf("safetensors: duplicate tensor name %q in header", key)
					}
					return fmt.Errorf("safetensors: duplicate key %q in header", key)
				}
				stack[top].seen[key] = true
				stack[top].wantsKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, seen: map[string]bool{}, wantsKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		// A complete value was read; the enclosing object now wants a key.
		if n := len(stack) - 1; n >= 0 && stack[n].object {
			stack[n].wantsKey = true
		}
	}
}

func decodeMetadata(raw json.RawMessage, f *File) error {
	if string(raw) == "null" {
		return nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("safetensors: %s is not a JSON object", metadataKey)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("safetensors: %s: %v", metadataKey, err)
	}
	f.Metadata = make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("safetensors: %s value for %q is %s, want a string", metadataKey, k, jsonKind(v))
		}
		f.Metadata[k] = s
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Read reads a safetensors file from r and parses it. It refuses, with an
// error and without reading further, any input larger than maxBytes: the
// header's length prefix is checked as soon as it arrives, and the rest is
// read through a limit of maxBytes.
func Read(r io.Reader, maxBytes int64) (*File, error) {
	if maxBytes < 8 {
		return nil, fmt.Errorf("safetensors: maxBytes %d is smaller than the 8-byte header length", maxBytes)
	}
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, MaxHeaderBytes)
	}
	if int64(n) > maxBytes-8 {
		return nil, fmt.Errorf("safetensors: header alone is %d bytes, the input limit is %d bytes", n, maxBytes)
	}
	var b bytes.Buffer
	b.Write(prefix[:])
	if _, err := b.ReadFrom(io.LimitReader(r, maxBytes-8+1)); err != nil {
		return nil, fmt.Errorf("safetensors: reading: %w", err)
	}
	if int64(b.Len()) > maxBytes {
		return nil, fmt.Errorf("safetensors: input exceeds the %d-byte limit", maxBytes)
	}
	return Parse(b.Bytes())
}

// Encode serialises f. Tensors need not be sorted; they are written in name
// order. Metadata is written only when it has entries. Encode checks what
// Parse checks: known dtypes, non-negative shapes, data lengths matching
// shapes, unique non-reserved names.
func Encode(f *File) ([]byte, error) {
	ts := make([]*Tensor, len(f.Tensors))
	for i := range f.Tensors {
		ts[i] = &f.Tensors[i]
	}
	slices.SortFunc(ts, func(x, y *Tensor) int { return strings.Compare(x.Name, y.Name) })

	var h bytes.Buffer
	h.WriteByte('{')
	if len(f.Metadata) > 0 {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		writeJSONString(&h, metadataKey)
		h.WriteString(":{")
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(f.Metadata[k]) {
				return nil, fmt.Errorf("safetensors: metadata entry %q is not valid UTF-8", k)
			}
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, f.Metadata[k])
		}
		h.WriteByte('}')
	}
	var offset int64
	for i, t := range ts {
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		}
		if t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
		}
		if i > 0 && ts[i-1].Name == t.Name {
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		shape := make([]int64, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = int64(d)
		}
		size, err := dataSize(t.Name, t.DType, shape)
		if err != nil {
			return nil, err
		}
		if size != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, has %d", t.Name, t.Shape, t.DType, size, len(t.Data))
		}
		if h.Len() > 1 {
			h.WriteByte(',')
		}
		writeJSONString(&h, t.Name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			fmt.Fprint(&h, d)
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, offset+int64(size))
		offset += int64(size)
	}
	h.WriteByte('}')
	// Pad with spaces so that the data starts 8-byte aligned, as the
	// reference writer does; the padding is JSON whitespace.
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderBytes {
		return nil, fmt.Errorf("safetensors: header would be %d bytes, over the %d-byte limit", h.Len(), MaxHeaderBytes)
	}

	out := make([]byte, 8, 8+int64(h.Len())+offset)
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out, nil
}

// writeJSONString writes s as a JSON string without encoding/json's HTML
// escaping, so that names like "a<b" stay readable in the header.
func writeJSONString(w *bytes.Buffer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
