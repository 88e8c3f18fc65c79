package data

import (
	"hash/fnv"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// rowText decodes row b of a batch's inputs and targets, and the targets
// whose weight is 1, for readable assertions.
func rowText(tok *tokenizer.Tokenizer, batch *Batch, b int) (inputs, targets, counted string) {
	T := batch.T
	var c []int32
	for t := 0; t < T; t++ {
		if batch.Weights[b*T+t] == 1 {
			c = append(c, batch.Targets[b*T+t])
		}
	}
	return tok.Decode(batch.Inputs[b*T : (b+1)*T]), tok.Decode(batch.Targets[b*T : (b+1)*T]), tok.Decode(c)
}

func TestNewSamplerErrors(t *testing.T) {
	tok := tokenizer.Default()
	noNewline, err := tokenizer.New([]string{tokenizer.Unk, "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	text := []Example{{Completion: "hello"}}
	tests := []struct {
		name     string
		kind     Kind
		examples []Example
		tok      *tokenizer.Tokenizer
		T        int
		wantErr  string
	}{
		{"nil tokenizer", KindText, text, nil, 8, "needs a tokenizer"},
		{"T zero", KindText, text, tok, 0, "T is 0"},
		{"bad kind", "chat", text, tok, 8, `unknown dataset kind "chat"`},
		{"no examples", KindText, nil, tok, 8, "no examples"},
		{"text too short", KindText, []Example{{Completion: "a"}}, tok, 8, "1 characters long; at least 2"},
		{"text with prompt", KindText, []Example{{Prompt: "p", Completion: "c"}}, tok, 8, "example 1 has a prompt"},
		{"no newline in vocab", KindPromptCompletion, []Example{{Prompt: "a", Completion: "b"}}, noNewline, 8, `no "\n"`},
		{"completion too long", KindPromptCompletion,
			[]Example{{Prompt: "ok", Completion: "fine"}, {Prompt: "reverse: horse =", Completion: " esroh"}}, tok, 6,
			`example 2 (prompt "reverse: horse ="): the completion is 7 tokens long with its closing newline; with a context of 6 tokens it can be at most 6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := NewSampler(tt.kind, tt.examples, tt.tok, tt.T, 1)
			if err == nil {
				t.Fatalf("NewSampler = %v, nil; want an error containing %q", s, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestTextNext(t *testing.T) {
	tok := tokenizer.Default()
	examples := []Example{{Completion: "The first piece of text."}, {Completion: "And the second, a little longer."}}
	stream := "The first piece of text.\nAnd the second, a little longer."
	const B, T = 6, 10
	s, unknown, err := NewSampler(KindText, examples, tok, T, 7)
	if err != nil {
		t.Fatal(err)
	}
	if unknown.Count != 0 || s.Tokens() != len(stream) {
		t.Fatalf("Tokens() = %d, unknown %v; want %d, none", s.Tokens(), unknown, len(stream))
	}
	batch := NewBatch(B, T)
	starts := map[int]bool{}
	for step := 0; step < 50; step++ {
		s.Next(batch)
		if batch.Counted() != B*T {
			t.Fatalf("step %d: %d positions counted, want all %d", step, batch.Counted(), B*T)
		}
		for b := 0; b < B; b++ {
			in, tg, _ := rowText(tok, batch, b)
			// The row must be a window of the stream, targets shifted by one.
			start := strings.Index(stream, in+tg[T-1:])
			if start < 0 || stream[start+1:start+T+1] != tg {
				t.Fatalf("step %d row %d: inputs %q targets %q are not a shifted window of the stream", step, b, in, tg)
			}
			starts[start] = true
		}
	}
	// 300 draws over 48 possible starts: a uniform sampler hits nearly all.
	if possible := len(stream) - T; len(starts) < possible*3/4 {
		t.Errorf("only %d of %d window starts drawn in 300 rows", len(starts), possible)
	}
}

// TestShortText checks a pasted text shorter than one window still trains:
// every row is the whole text, padded, with the padding weighted 0.
func TestShortText(t *testing.T) {
	tok := tokenizer.Default()
	const text = "Twenty characters!!!"
	s, _, err := NewSampler(KindText, []Example{{Completion: text}}, tok, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	batch := NewBatch(3, 32)
	s.Next(batch)
	for b := 0; b < 3; b++ {
		in, tg, counted := rowText(tok, batch, b)
		if !strings.HasPrefix(in, text[:len(text)-1]) || counted != text[1:] {
			t.Errorf("row %d: inputs %q, counted targets %q; want the text and its shift", b, in, counted)
		}
		if pad := in[len(text)-1:] + tg[len(text)-1:]; pad != strings.Repeat("\n", 2*(32-len(text)+1)) {
			t.Errorf("row %d: padding %q, want newlines", b, pad)
		}
	}
	if got, want := batch.Counted(), 3*(len(text)-1); got != want {
		t.Errorf("Counted() = %d, want %d", got, want)
	}
	if rows := s.Rows(); rows != 1 {
		t.Errorf("Rows() = %d, want 1", rows)
	}
}

func TestNextIsDeterministic(t *testing.T) {
	tok := tokenizer.Default()
	text := []Example{{Completion: strings.Repeat("Of the Refractions of Light. ", 20)}}
	pc := make([]Example, 30)
	for i := range pc {
		pc[i] = Example{Prompt: strings.Repeat("p", i%7) + ":", Completion: strings.Repeat("c", i%5+1)}
	}
	for _, tc := range []struct {
		kind     Kind
		examples []Example
	}{{KindText, text}, {KindPromptCompletion, pc}} {
		draw := func(seed uint64) []byte {
			s, _, err := NewSampler(tc.kind, tc.examples, tok, 16, seed)
			if err != nil {
				t.Fatal(err)
			}
			batch := NewBatch(4, 16)
			var out []byte
			for i := 0; i < 10; i++ {
				s.Next(batch)
				for _, id := range batch.Inputs {
					out = append(out, byte(id))
				}
			}
			return out
		}
		a, b, c := draw(42), draw(42), draw(43)
		if string(a) != string(b) {
			t.Errorf("%s: two samplers with seed 42 drew different batches", tc.kind)
		}
		if string(a) == string(c) {
			t.Errorf("%s: seeds 42 and 43 drew the same batches", tc.kind)
		}
	}
}

// TestNextGolden pins the batches drawn for one seed. math/rand/v2's PCG is
// specified bit for bit, so the same value must come out natively and under
// js/wasm; a change here means runs stop being reproducible across versions.
func TestNextGolden(t *testing.T) {
	tok := tokenizer.Default()
	s, _, err := NewSampler(KindText, []Example{{Completion: strings.Repeat("abcdefghijklmnopqrstuvwxyz", 10)}}, tok, 8, 2024)
	if err != nil {
		t.Fatal(err)
	}
	batch := NewBatch(4, 8)
	h := fnv.New64a()
	for i := 0; i < 25; i++ {
		s.Next(batch)
		for _, id := range batch.Inputs {
			h.Write([]byte{byte(id)})
		}
	}
	s.Next(batch)
	in, _, _ := rowText(tok, batch, 0)
	const wantRow, wantHash = "klmnopqr", uint64(0x3ae3e24b3049dbdf)
	if in != wantRow || h.Sum64() != wantHash {
		t.Errorf("seed 2024 drew row %q and hash %#x; want %q and %#x", in, h.Sum64(), wantRow, wantHash)
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	tok := tokenizer.Default()
	text, _, err := NewSampler(KindText, []Example{{Completion: strings.Repeat("light ", 100)}}, tok, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	pc, _, err := NewSampler(KindPromptCompletion, []Example{{"a", "b"}, {"c", "d"}, {"e", "f"}}, tok, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	batch := NewBatch(8, 16)
	for _, s := range []*Sampler{text, pc} {
		if n := testing.AllocsPerRun(50, func() { s.Next(batch) }); n != 0 {
			t.Errorf("%s: Next allocates %.1f times per call, want 0", s.Kind(), n)
		}
	}
}

func TestNextPanicsOnWrongShape(t *testing.T) {
	s, _, err := NewSampler(KindText, []Example{{Completion: "some text"}}, tokenizer.Default(), 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "NewBatch(B, 4)") {
			t.Errorf("Next with a batch of T=5: recovered %v, want a panic naming NewBatch(B, 4)", r)
		}
	}()
	s.Next(NewBatch(2, 5))
}

func TestPromptCompletionRows(t *testing.T) {
	tok := tokenizer.Default()
	tests := []struct {
		name                    string
		example                 Example
		T                       int
		wantInputs, wantTargets string // with padding shown as \n
		wantCounted             string
		wantTruncated           int
	}{
		{"fits", Example{"rev: ab =", " ba"}, 16,
			"rev: ab = ba\n\n\n\n", "ev: ab = ba\n\n\n\n\n", " ba\n", 0},
		{"exactly T+1", Example{"abc", "de"}, 5,
			"abcde", "bcde\n", "de\n", 0},
		{"prompt truncated from the left", Example{"0123456789", "xy"}, 6,
			"6789xy", "789xy\n", "xy\n", 1},
		{"completion fills the row", Example{"long prompt", "abcde"}, 6,
			"tabcde", "abcde\n", "abcde\n", 1},
		{"empty prompt: first token has no predecessor", Example{"", "abc"}, 5,
			"abc\n\n", "bc\n\n\n", "bc\n", 0},
		{"empty completion: only the newline", Example{"prompt", ""}, 8,
			"prompt\n\n", "rompt\n\n\n", "\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := NewSampler(KindPromptCompletion, []Example{tt.example}, tok, tt.T, 1)
			if err != nil {
				t.Fatal(err)
			}
			if s.Truncated() != tt.wantTruncated {
				t.Errorf("Truncated() = %d, want %d", s.Truncated(), tt.wantTruncated)
			}
			batch := NewBatch(2, tt.T)
			s.Next(batch)
			for b := 0; b < 2; b++ {
				in, tg, counted := rowText(tok, batch, b)
				if in != tt.wantInputs || tg != tt.wantTargets || counted != tt.wantCounted {
					t.Errorf("row %d: inputs %q targets %q counted %q; want %q %q %q", b, in, tg, counted, tt.wantInputs, tt.wantTargets, tt.wantCounted)
				}
			}
		})
	}
}

// TestPromptCompletionShuffle checks every example is drawn once per pass
// before any repeats.
func TestPromptCompletionShuffle(t *testing.T) {
	tok := tokenizer.Default()
	examples := make([]Example, 10)
	for i := range examples {
		examples[i] = Example{Prompt: string(rune('A' + i)), Completion: "!"}
	}
	s, _, err := NewSampler(KindPromptCompletion, examples, tok, 4, 9)
	if err != nil {
		t.Fatal(err)
	}
	batch := NewBatch(5, 4)
	var passes [3]string
	for pass := range passes {
		seen := map[string]bool{}
		for i := 0; i < 2; i++ {
			s.Next(batch)
			for b := 0; b < 5; b++ {
				in, _, _ := rowText(tok, batch, b)
				seen[in[:1]] = true
				passes[pass] += in[:1]
			}
		}
		if len(seen) != 10 {
			t.Errorf("pass %d drew %q: %d distinct examples, want all 10", pass, passes[pass], len(seen))
		}
	}
	if passes[0] == passes[1] && passes[1] == passes[2] {
		t.Errorf("every pass drew the same order %q; want a fresh shuffle each pass", passes[0])
	}
}

func TestUnknownSummed(t *testing.T) {
	tok := tokenizer.Default()
	examples := []Example{{"café =", " 'é'"}, {"naïve", "—"}}
	s, unknown, err := NewSampler(KindPromptCompletion, examples, tok, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if unknown.Count != 4 || unknown.Runes['é'] != 2 || unknown.Runes['ï'] != 1 || unknown.Runes['—'] != 1 {
		t.Errorf("unknown = %v, want é×2, ï×1, —×1", unknown)
	}
	// Unknown characters are kept as <unk>, not dropped: "café =" is 6 tokens.
	if want := (6 + 4 + 1) + (5 + 1 + 1); s.Tokens() != want {
		t.Errorf("Tokens() = %d, want %d", s.Tokens(), want)
	}
}

func TestTextEpoch(t *testing.T) {
	tok := tokenizer.Default()
	text := "0123456789abcdefghijklmnopqrstuvwxyz" // 36 tokens: 35 targets
	for _, tc := range []struct{ B, T, wantRows, wantBatches int }{
		{2, 5, 7, 4}, {3, 7, 5, 2}, {1, 35, 1, 1}, {4, 100, 1, 1}, {2, 34, 2, 1},
	} {
		s, _, err := NewSampler(KindText, []Example{{Completion: text}}, tok, tc.T, 1)
		if err != nil {
			t.Fatal(err)
		}
		batches := s.Epoch(tc.B)
		if s.Rows() != tc.wantRows || len(batches) != tc.wantBatches {
			t.Errorf("B=%d T=%d: %d rows in %d batches, want %d in %d", tc.B, tc.T, s.Rows(), len(batches), tc.wantRows, tc.wantBatches)
		}
		var counted strings.Builder
		for _, batch := range batches {
			if batch.B != tc.B || batch.T != tc.T {
				t.Fatalf("batch shape (%d,%d), want (%d,%d)", batch.B, batch.T, tc.B, tc.T)
			}
			for b := 0; b < batch.B; b++ {
				_, _, c := rowText(tok, batch, b)
				counted.WriteString(c)
			}
		}
		if counted.String() != text[1:] {
			t.Errorf("B=%d T=%d: counted targets over the epoch %q; want every token after the first once, in order", tc.B, tc.T, counted.String())
		}
	}
}

func TestPromptCompletionEpoch(t *testing.T) {
	tok := tokenizer.Default()
	examples := []Example{{"a=", "1"}, {"b=", "22"}, {"c=", "333"}, {"d=", "4444"}, {"e=", "5"}}
	s, _, err := NewSampler(KindPromptCompletion, examples, tok, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := NewBatch(2, 8)
	s.Next(before)
	batches := s.Epoch(2)
	if len(batches) != 3 {
		t.Fatalf("Epoch(2) over 5 examples gave %d batches, want 3", len(batches))
	}
	var got []string
	for _, batch := range batches {
		for b := 0; b < batch.B; b++ {
			_, _, c := rowText(tok, batch, b)
			got = append(got, c)
		}
	}
	want := []string{"1\n", "22\n", "333\n", "4444\n", "5\n", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("epoch counted targets %q, want %q (last row padding)", got, want)
	}
	if s.Epoch(0) != nil {
		t.Errorf("Epoch(0) is not nil")
	}
	// Epoch must not disturb Next's sequence.
	fresh, _, _ := NewSampler(KindPromptCompletion, examples, tok, 8, 1)
	a, b := NewBatch(2, 8), NewBatch(2, 8)
	fresh.Next(a)
	fresh.Next(a)
	s.Next(b)
	if string(int32Bytes(a.Inputs)) != string(int32Bytes(b.Inputs)) {
		t.Errorf("calling Epoch changed the batches Next draws")
	}
}

func int32Bytes(ids []int32) []byte {
	out := make([]byte, len(ids))
	for i, id := range ids {
		out[i] = byte(id)
	}
	return out
}

// TestSamplerSizesTokensOnce checks that NewSampler allocates its token
// buffer once at its final size, for ASCII, for characters outside the
// vocabulary and for invalid UTF-8 (one token per byte), in both kinds and
// with truncated prompts (then with room for the longest cut), so that building a sampler leaves no garbage of
// growing buffers behind.
func TestSamplerSizesTokensOnce(t *testing.T) {
	tok := tokenizer.Default()
	text := []Example{{Completion: "plain ascii text"}, {Completion: "naïve — ünïcode \xff\xfe bytes"}, {Completion: "x"}}
	s, _, err := NewSampler(KindText, text, tok, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.stream) != cap(s.stream) {
		t.Errorf("text stream: len %d, cap %d", len(s.stream), cap(s.stream))
	}
	pc := []Example{{Prompt: "p1 ", Completion: "short"}, {Prompt: strings.Repeat("long prompt ", 9), Completion: "end"},
		{Prompt: "é\xff", Completion: "ü"}}
	s, _, err = NewSampler(KindPromptCompletion, pc, tok, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	excess := len(pc[1].Prompt+pc[1].Completion) + 1 - 17 // the truncated example's, before its cut
	if s.Truncated() != 1 || cap(s.tokens) != len(s.tokens)+excess {
		t.Errorf("prompt/completion tokens: %d truncated, len %d, cap %d", s.Truncated(), len(s.tokens), cap(s.tokens))
	}
	ascii := []Example{{Completion: strings.Repeat("all in the vocabulary ", 100)}, {Completion: "so no report"}}
	if n := testing.AllocsPerRun(5, func() { NewSampler(KindText, ascii, tok, 8, 1) }); n > 4 {
		t.Errorf("NewSampler(text) made %v allocations; want the sampler, its rand.Rand and PCG, and one stream", n)
	}
}
