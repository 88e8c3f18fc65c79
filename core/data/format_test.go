package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseJSONL(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		want     []Example
		wantKind Kind
	}{
		{"text", `{"text": "one"}` + "\n" + `{"text": "two\nlines"}` + "\n",
			[]Example{{Completion: "one"}, {Completion: "two\nlines"}}, KindText},
		{"prompt completion", `{"prompt": "reverse: cat =", "completion": " tac"}`,
			[]Example{{Prompt: "reverse: cat =", Completion: " tac"}}, KindPromptCompletion},
		{"blank lines, CRLF, indentation and no final newline",
			"\n  {\"text\": \"a\"}\r\n\r\n\t\n{\"text\": \"b\"}",
			[]Example{{Completion: "a"}, {Completion: "b"}}, KindText},
		{"text kept exactly", `{"text": "  spaces \u00e9 \t tab "}`,
			[]Example{{Completion: "  spaces é \t tab "}}, KindText},
		{"empty strings allowed", `{"prompt": "", "completion": ""}`,
			[]Example{{}}, KindPromptCompletion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, kind, err := ParseJSONL(strings.NewReader(tt.input), 0)
			if err != nil {
				t.Fatalf("ParseJSONL: %v", err)
			}
			if kind != tt.wantKind {
				t.Errorf("kind = %q, want %q", kind, tt.wantKind)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d examples %q, want %q", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("example %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseJSONLErrors(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		maxBytes int64
		wantErr  string
	}{
		{"empty", "", 0, "no examples"},
		{"only blank lines", "\n \n\r\n", 0, "no examples"},
		{"mixed kinds", `{"text": "a"}` + "\n\n" + `{"prompt": "p", "completion": "c"}`, 0,
			`line 3: a {"prompt": ..., "completion": ...} example, but line 1 was a {"text": ...} example`},
		{"bad JSON", `{"text": "a"}` + "\n" + `{"text": "b"`, 0, "line 2: not a JSON object"},
		{"not an object", `["a"]`, 0, "line 1: not a JSON object"},
		{"null", `null`, 0, "line 1: not a JSON object: null"},
		{"two values", `{"text": "a"} {"text": "b"}`, 0, "line 1: more than one JSON value"},
		{"number", `{"text": 5}`, 0, `line 1: "text" must be a string, not 5`},
		{"typo", `{"prompt": "p", "completon": "c"}`, 0, `line 1: unexpected field "completon"`},
		{"both", `{"text": "a", "prompt": "p", "completion": "c"}`, 0, "line 1: both"},
		{"prompt only", `{"prompt": "p"}`, 0, `line 1: "prompt" without "completion"`},
		{"completion only", `{"completion": "c"}`, 0, `line 1: "completion" without "prompt"`},
		{"empty object", `{}`, 0, "line 1: an empty object"},
		{"too long", `{"text": "0123456789"}`, 10, "longer than the limit of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParseJSONL(strings.NewReader(tt.input), tt.maxBytes)
			if err == nil {
				t.Fatalf("ParseJSONL(%q) = %q, nil; want an error containing %q", tt.input, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseByExtension(t *testing.T) {
	tests := []struct {
		name, input string
		wantKind    Kind
		wantErr     string
	}{
		{"poem.txt", "Roses are red\n", KindText, ""},
		{"POEM.TXT", "x", KindText, ""},
		{"train.jsonl", `{"prompt": "a", "completion": "b"}`, KindPromptCompletion, ""},
		{"empty.txt", "", "", "empty.txt: the file is empty"},
		{"data.csv", "a,b", "", `data.csv: unsupported file type ".csv"`},
		{"noext", "a", "", `unsupported file type ""`},
		{"bad.jsonl", "{", "", "bad.jsonl: line 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			examples, kind, err := Parse(tt.name, strings.NewReader(tt.input), 1<<20)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kind != tt.wantKind || len(examples) != 1 {
				t.Errorf("got kind %q and %d examples, want %q and 1", kind, len(examples), tt.wantKind)
			}
			if kind == KindText && examples[0].Completion != tt.input {
				t.Errorf("raw text changed: %q, want %q", examples[0].Completion, tt.input)
			}
		})
	}
}

func TestLoadFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat("a", 2048+205)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadFile(path, 1024); err == nil || !strings.Contains(err.Error(), "file is 2.2 KB; the limit is 1 KB") {
		t.Errorf("LoadFile over the limit: error %v, want one saying \"file is 2.2 KB; the limit is 1 KB\"", err)
	}
	examples, kind, err := LoadFile(path, 4096)
	if err != nil || kind != KindText || len(examples[0].Completion) != 2253 {
		t.Errorf("LoadFile under the limit = %d examples, %q, %v", len(examples), kind, err)
	}
	if _, _, err := LoadFile(filepath.Join(dir, "missing.txt"), 0); err == nil {
		t.Errorf("LoadFile of a missing file: no error")
	}
}

func TestTooLarge(t *testing.T) {
	tests := []struct {
		size, limit int64
		want        string
	}{
		{2254857830, 16 << 20, "file is 2.1 GB; the limit is 16 MB"},
		{(16 << 20) + 1, 16 << 20, "file is 16777217 bytes; the limit is 16777216 bytes"},
		{1500, 1000, "file is 1.5 KB; the limit is 1000 bytes"},
		{3 << 40, 1 << 30, "file is 3 TB; the limit is 1 GB"},
	}
	for _, tt := range tests {
		if got := tooLarge(tt.size, tt.limit); got != tt.want {
			t.Errorf("tooLarge(%d, %d) = %q, want %q", tt.size, tt.limit, got, tt.want)
		}
	}
}
