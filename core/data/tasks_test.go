package data_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/assets/datasets"
	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// datasetsDir is where the committed tasks live, relative to this package.
const datasetsDir = "../../assets/datasets"

var taskNames = []string{"e2e", "verse", "reverse"}

// TestCommittedTasks loads every committed task as the app does and checks
// what the task promises: counts that match task.json, nothing outside the
// default vocabulary, small files, a model context they fit, and a
// validation split that is new in the way the task says.
func TestCommittedTasks(t *testing.T) {
	tok := tokenizer.Default()
	for _, name := range taskNames {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(datasetsDir, name)
			task, train, val, err := data.LoadTask(dir, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if task.Name != name {
				t.Errorf("task.json name %q in folder %q", task.Name, name)
			}
			var size int64
			for _, file := range []string{"task.json", "train.jsonl", "val.jsonl"} {
				info, err := os.Stat(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				size += info.Size()
			}
			if size > 320<<10 {
				t.Errorf("the task's files take %d bytes; keep them near 300 KB", size)
			}
			if _, unknown := tok.Encode(task.Title + task.Description); unknown.Count != 0 {
				t.Errorf("task.json: %s", unknown)
			}
			for split, examples := range map[string][]data.Example{"train": train, "val": val} {
				for i, ex := range examples {
					if _, unknown := tok.Encode(ex.Prompt + ex.Completion); unknown.Count != 0 {
						t.Fatalf("%s example %d: %s", split, i+1, unknown)
					}
				}
				// Every split must be usable as is by a model with a
				// 128-token context.
				s, unknown, err := data.NewSampler(task.Kind, examples, tok, 128, 1)
				if err != nil || unknown.Count != 0 {
					t.Fatalf("%s: NewSampler: %v, %s", split, err, unknown)
				}
				if len(s.Epoch(16)) == 0 {
					t.Errorf("%s: empty validation epoch", split)
				}
			}
			switch name {
			case "e2e":
				checkE2E(t, train, val)
			case "verse":
				checkVerse(t, train, val)
			case "reverse":
				checkReverse(t, task, train, val)
			}
		})
	}
}

var (
	mrName     = regexp.MustCompile(`^name\[([^\]]+)\]`)
	mrVerbatim = regexp.MustCompile(`(?:type|food|near)\[([^\]]+)\]`)
	mrFormat   = regexp.MustCompile(`^name\[[^\]]+\]( [a-z]+\[[^\]]+\]){2,5}\n$`)
	// mrWorded are the attributes said in other words, with the words
	// that must appear in the sentence for each value.
	mrWorded  = regexp.MustCompile(`(?:price|rating|area|family)\[[^\]]+\]`)
	mrWording = map[string]*regexp.Regexp{
		"price[cheap]":    regexp.MustCompile(`\b(cheap|low-priced)\b`),
		"price[moderate]": regexp.MustCompile(`\b(moderately priced|mid-priced)\b`),
		"price[high]":     regexp.MustCompile(`\b(expensive|pricey|high-priced)\b`),
		"rating[low]":     regexp.MustCompile(`\b(poorly|poor|low)\b`),
		"rating[average]": regexp.MustCompile(`\baverage\b`),
		"rating[high]":    regexp.MustCompile(`\b(highly|good|high)\b`),
		"area[riverside]": regexp.MustCompile(`\b(river|riverside)\b`),
		"area[centre]":    regexp.MustCompile(`\bcentre\b`),
		"family[yes]":     regexp.MustCompile(`\b(family|kid)-friendly\b`),
		"family[no]":      regexp.MustCompile(`\bnot (family-friendly|kid-friendly|for kids)\b`),
	}
)

// checkE2E: well-formed meaning representations of 3 to 6 attributes, every
// size present, one sentence naming the restaurant and realising every
// attribute, and validation restaurants that never occur in training.
func checkE2E(t *testing.T, train, val []data.Example) {
	sizes := map[int]int{}
	names := func(examples []data.Example) map[string]bool {
		set := map[string]bool{}
		for _, ex := range examples {
			if !mrFormat.MatchString(ex.Prompt) {
				t.Fatalf("malformed meaning representation %q", ex.Prompt)
			}
			sizes[strings.Count(ex.Prompt, "[")]++
			name := mrName.FindStringSubmatch(ex.Prompt)[1]
			if !strings.Contains(ex.Completion, name) {
				t.Errorf("completion %q does not name %q", ex.Completion, name)
			}
			// Attributes whose value is said word for word must appear.
			for _, m := range mrVerbatim.FindAllStringSubmatch(ex.Prompt, -1) {
				if !strings.Contains(strings.ToLower(ex.Completion), strings.ToLower(m[1])) {
					t.Errorf("completion %q does not realise %q", ex.Completion, m[0])
				}
			}
			// The others in one of their wordings.
			for _, attr := range mrWorded.FindAllString(ex.Prompt, -1) {
				if re := mrWording[attr]; re == nil || !re.MatchString(ex.Completion) {
					t.Errorf("completion %q does not realise %q", ex.Completion, attr)
				}
			}
			if len(ex.Completion) > 120 || !strings.HasSuffix(ex.Completion, ".") || strings.Contains(ex.Completion, "\n") {
				t.Errorf("completion %q is not one sentence of at most 120 characters", ex.Completion)
			}
			set[name] = true
		}
		return set
	}
	trainNames, valNames := names(train), names(val)
	for name := range valNames {
		if trainNames[name] {
			t.Errorf("validation restaurant %q also occurs in training", name)
		}
	}
	if len(valNames) < 5 || len(trainNames) < 20 {
		t.Errorf("%d training and %d validation restaurants; want variety", len(trainNames), len(valNames))
	}
	for n := 3; n <= 6; n++ {
		if sizes[n] == 0 {
			t.Errorf("no meaning representation of %d attributes; sizes %v", n, sizes)
		}
	}
}

// exampleContext is the context of the shipped base models, in tokens of
// tokenizer.Default (one per character).
const exampleContext = 128

// TestPromptCompletionTasksFitContext checks that every example of every
// committed prompt/completion task fits the base models' context whole:
// prompt, completion and the closing "\n" in at most 128 characters, so the
// sampler never cuts the start of a prompt (which would hide attributes of an
// e2e meaning representation from the model).
func TestPromptCompletionTasksFitContext(t *testing.T) {
	tok := tokenizer.Default()
	checked := map[string]bool{}
	for _, name := range taskNames {
		task, train, val, err := data.LoadTask(filepath.Join(datasetsDir, name), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if task.Kind != data.KindPromptCompletion {
			continue
		}
		checked[name] = true
		for split, examples := range map[string][]data.Example{"train": train, "val": val} {
			longest := 0
			for i, ex := range examples {
				n := len(ex.Prompt) + len(ex.Completion) + 1
				longest = max(longest, n)
				if n > exampleContext {
					t.Errorf("%s %s example %d: %d characters with its newline, more than %d: %q + %q",
						name, split, i+1, n, exampleContext, ex.Prompt, ex.Completion)
				}
			}
			s, _, err := data.NewSampler(task.Kind, examples, tok, exampleContext, 1)
			if err != nil {
				t.Fatalf("%s %s: NewSampler: %v", name, split, err)
			}
			if s.Truncated() != 0 {
				t.Errorf("%s %s: %d examples truncated at T=%d; want 0", name, split, s.Truncated(), exampleContext)
			}
			t.Logf("%s %s: %d examples, longest %d characters with its newline", name, split, len(examples), longest)
		}
	}
	for _, name := range []string{"e2e", "reverse"} {
		if !checked[name] {
			t.Errorf("task %s is not a prompt/completion task", name)
		}
	}
}

var speakerLine = regexp.MustCompile(`(?m)^[A-Z]+: `)

// checkVerse: no piece in both splits, and every piece is verse or a
// play-script scene of at most 400 characters, short-lined and unlike the Opticks' prose paragraphs.
func checkVerse(t *testing.T, train, val []data.Example) {
	seen := map[string]bool{}
	for _, ex := range train {
		seen[ex.Completion] = true
	}
	for _, ex := range val {
		if seen[ex.Completion] {
			t.Errorf("validation piece also in training:\n%s", ex.Completion)
		}
	}
	dialogues := 0
	for _, ex := range append(train, val...) {
		text := ex.Completion
		if len(text) > 400 {
			t.Errorf("piece of %d characters; keep pieces to at most 400:\n%s", len(text), text)
		}
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if !strings.HasSuffix(text, "\n") || len(lines) < 4 {
			t.Fatalf("piece is not at least four lines ending in a newline:\n%q", text)
		}
		for _, line := range lines {
			if len(line) > 70 {
				t.Errorf("line of %d characters, longer than verse or dialogue: %q", len(line), line)
			}
		}
		if speakerLine.MatchString(text) {
			dialogues++
		}
	}
	if all := len(train) + len(val); dialogues < all/4 || dialogues > all*3/4 {
		t.Errorf("%d of %d pieces are dialogue; want a mix of verse and dialogue", dialogues, all)
	}
}

// checkReverse: the completion is the prompt's word backwards, words are 3 to
// 7 lowercase letters, and no validation word is trained on.
func checkReverse(t *testing.T, task data.Task, train, val []data.Example) {
	if task.Metric != data.MetricExactMatch {
		t.Errorf("metric %q, want %q", task.Metric, data.MetricExactMatch)
	}
	prompt := regexp.MustCompile(`^reverse: ([a-z]{3,7}) =$`)
	words := func(examples []data.Example) map[string]bool {
		set := map[string]bool{}
		for _, ex := range examples {
			m := prompt.FindStringSubmatch(ex.Prompt)
			if m == nil {
				t.Fatalf("prompt %q is not \"reverse: <word> =\"", ex.Prompt)
			}
			var rev strings.Builder
			for i := len(m[1]) - 1; i >= 0; i-- {
				rev.WriteByte(m[1][i])
			}
			if ex.Completion != " "+rev.String() {
				t.Errorf("%q has completion %q, want %q", ex.Prompt, ex.Completion, " "+rev.String())
			}
			if set[m[1]] {
				t.Errorf("word %q occurs twice in one split", m[1])
			}
			set[m[1]] = true
		}
		return set
	}
	trainWords, valWords := words(train), words(val)
	for w := range valWords {
		if trainWords[w] {
			t.Errorf("validation word %q also occurs in training", w)
		}
	}
}

// TestGeneratorIsDeterministic regenerates every task into a temporary
// directory and compares the bytes with the committed files, so the
// committed data is exactly what the code in assets/datasets produces.
func TestGeneratorIsDeterministic(t *testing.T) {
	tmp := t.TempDir()
	if err := datasets.Generate(tmp); err != nil {
		t.Fatal(err)
	}
	for _, name := range taskNames {
		for _, file := range []string{"task.json", "train.jsonl", "val.jsonl"} {
			committed, err := os.ReadFile(filepath.Join(datasetsDir, name, file))
			if err != nil {
				t.Fatal(err)
			}
			generated, err := os.ReadFile(filepath.Join(tmp, name, file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(committed, generated) {
				t.Errorf("%s/%s differs from what the generator writes; run `go generate ./assets/...` and commit", name, file)
			}
		}
	}
}
