package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Example is one training example. For raw text Prompt is "" and Completion
// holds the text.
type Example struct {
	Prompt     string
	Completion string
}

// Kind says how a dataset's examples are trained on; see the package
// documentation.
type Kind string

const (
	// KindText is running text: every token is a target.
	KindText Kind = "text"
	// KindPromptCompletion is prompt/completion pairs: only the completion's
	// tokens (and the newline that ends it) are targets.
	KindPromptCompletion Kind = "prompt_completion"
)

// Valid reports whether k is one of the kinds this package knows.
func (k Kind) Valid() bool { return k == KindText || k == KindPromptCompletion }

// Parse reads a dataset from r, choosing the format by the extension of name
// (which is only used for that and for error messages): ".txt" is raw text,
// a single [KindText] example; ".jsonl" is read by [ParseJSONL]. It refuses
// input longer than maxBytes; maxBytes <= 0 means no limit.
//
// Parse is what the browser calls with an uploaded file's name and bytes;
// [LoadFile] is the same for a path on disk.
func Parse(name string, r io.Reader, maxBytes int64) ([]Example, Kind, error) {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".txt":
		raw, err := readAtMost(r, maxBytes)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		if len(raw) == 0 {
			return nil, "", fmt.Errorf("%s: the file is empty", name)
		}
		return []Example{{Completion: string(raw)}}, KindText, nil
	case ".jsonl":
		examples, kind, err := ParseJSONL(r, maxBytes)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return examples, kind, nil
	default:
		return nil, "", fmt.Errorf("%s: unsupported file type %q; use .txt for raw text or .jsonl for one JSON object per line", name, ext)
	}
}

// LoadFile reads the dataset at path with [Parse]. A file larger than
// maxBytes is refused before it is read, with a message such as "file is
// 2.1 GB; the limit is 16 MB"; maxBytes <= 0 means no limit.
func LoadFile(path string, maxBytes int64) ([]Example, Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && maxBytes > 0 && info.Size() > maxBytes {
		return nil, "", fmt.Errorf("%s: %s", path, tooLarge(info.Size(), maxBytes))
	}
	return Parse(path, f, maxBytes)
}

// readAtMost reads all of r, or fails once more than maxBytes have arrived
// (the stream may not know its size in advance).
func readAtMost(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		return io.ReadAll(r)
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("the input is longer than the limit of %s", formatBytes(maxBytes))
	}
	return raw, nil
}

// tooLarge says how a size exceeds a limit. When the rounded sizes would
// read the same ("16 MB; the limit is 16 MB") it gives exact byte counts.
func tooLarge(size, limit int64) string {
	s, l := formatBytes(size), formatBytes(limit)
	if s == l {
		s, l = fmt.Sprintf("%d bytes", size), fmt.Sprintf("%d bytes", limit)
	}
	return fmt.Sprintf("file is %s; the limit is %s", s, l)
}

// formatBytes writes n with a binary unit (1 KB = 1024 bytes, as file
// managers do), one decimal unless the value is whole: "512 bytes",
// "16 MB", "2.1 GB".
func formatBytes(n int64) string {
	units := []string{"bytes", "KB", "MB", "GB", "TB"}
	v := float64(n)
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	if s := fmt.Sprintf("%.1f", v); !strings.HasSuffix(s, ".0") {
		return s + " " + units[u]
	}
	return fmt.Sprintf("%.0f %s", v, units[u])
}

// ParseJSONL reads a JSON Lines dataset: one JSON object per line, either
// {"text": "..."} (a [KindText] dataset) or {"prompt": "...",
// "completion": "..."} (a [KindPromptCompletion] dataset). Blank lines are
// ignored; a line that is not such an object, has other fields (a typo such
// as "completon" would otherwise lose data silently), or is of the other
// kind than the first line is an error naming its line number. A dataset
// with no examples is an error too. Input longer than maxBytes is refused;
// maxBytes <= 0 means no limit.
//
// Text is kept exactly as written: JSON escapes are decoded, nothing else is
// changed. (Invalid UTF-8 inside a JSON string is replaced by U+FFFD by the
// JSON decoder; the tokenizer then reports it as unknown.)
func ParseJSONL(r io.Reader, maxBytes int64) ([]Example, Kind, error) {
	raw, err := readAtMost(r, maxBytes)
	if err != nil {
		return nil, "", err
	}
	var (
		examples  []Example
		kind      Kind
		kindLine  int
		lineStart int
	)
	for lineNo := 1; lineStart < len(raw); lineNo++ {
		end := bytes.IndexByte(raw[lineStart:], '\n')
		var line []byte
		if end < 0 {
			line, lineStart = raw[lineStart:], len(raw)
		} else {
			line, lineStart = raw[lineStart:lineStart+end], lineStart+end+1
		}
		line = bytes.TrimSpace(line) // also drops the \r of \r\n line ends
		if len(line) == 0 {
			continue
		}
		ex, k, err := parseLine(line)
		if err != nil {
			return nil, "", fmt.Errorf("line %d: %w", lineNo, err)
		}
		if kind == "" {
			kind, kindLine = k, lineNo
		} else if k != kind {
			return nil, "", fmt.Errorf("line %d: a %s example, but line %d was a %s example; a file holds one kind", lineNo, describeKind(k), kindLine, describeKind(kind))
		}
		examples = append(examples, ex)
	}
	if len(examples) == 0 {
		return nil, "", fmt.Errorf("no examples: expected one JSON object per line, such as {\"text\": \"...\"} or {\"prompt\": \"...\", \"completion\": \"...\"}")
	}
	return examples, kind, nil
}

func describeKind(k Kind) string {
	if k == KindText {
		return `{"text": ...}`
	}
	return `{"prompt": ..., "completion": ...}`
}

// parseLine decodes one non-blank JSONL line.
func parseLine(line []byte) (Example, Kind, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&fields); err != nil {
		return Example{}, "", fmt.Errorf("not a JSON object: %v", err)
	}
	if fields == nil {
		return Example{}, "", fmt.Errorf("not a JSON object: null")
	}
	if dec.More() {
		return Example{}, "", fmt.Errorf("more than one JSON value on the line")
	}
	str := func(key string) (string, bool, error) {
		v, ok := fields[key]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, fmt.Errorf("%q must be a string, not %s", key, v)
		}
		return s, true, nil
	}
	var unexpected []string
	for key := range fields {
		if key != "text" && key != "prompt" && key != "completion" {
			unexpected = append(unexpected, fmt.Sprintf("%q", key))
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return Example{}, "", fmt.Errorf("unexpected field %s; a line has either \"text\" or \"prompt\" and \"completion\"", strings.Join(unexpected, ", "))
	}
	text, hasText, err := str("text")
	if err != nil {
		return Example{}, "", err
	}
	prompt, hasPrompt, err := str("prompt")
	if err != nil {
		return Example{}, "", err
	}
	completion, hasCompletion, err := str("completion")
	if err != nil {
		return Example{}, "", err
	}
	switch {
	case hasText && (hasPrompt || hasCompletion):
		return Example{}, "", fmt.Errorf("both \"text\" and \"prompt\"/\"completion\"; use one or the other")
	case hasText:
		return Example{Completion: text}, KindText, nil
	case hasPrompt && hasCompletion:
		return Example{Prompt: prompt, Completion: completion}, KindPromptCompletion, nil
	case hasPrompt:
		return Example{}, "", fmt.Errorf("\"prompt\" without \"completion\"")
	case hasCompletion:
		return Example{}, "", fmt.Errorf("\"completion\" without \"prompt\" (use \"prompt\": \"\" for none)")
	default:
		return Example{}, "", fmt.Errorf("an empty object; expected \"text\" or \"prompt\" and \"completion\"")
	}
}
