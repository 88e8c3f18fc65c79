// Package corpus prepares the text our base models are pretrained on:
// Isaac Newton's Opticks (4th edition, 1730), a public-domain book from
// Project Gutenberg that ships with every Go toolchain as
// $GOROOT/src/testdata/Isaac.Newton-Opticks.txt, so the recipe needs no
// download.
//
// Preparation: the Project Gutenberg licence header and footer are removed
// when present (the book itself is public domain; the licence text is not
// training material). The copy in the Go tree already has them cut off and
// starts with a producers' credit ("Produced by ... Online Distributed
// Proofreading Team"), which is removed too. Typographic characters are folded to ASCII
// (tokenizer.ASCIIFold) so that the model's 97-symbol vocabulary covers it.
// The last 10% (cut at a line boundary) is held out for validation.
package corpus

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
	"github.com/lora-playground/lora-playground/core/tokenizer"
)

// ValFraction is the held-out share of the corpus.
const ValFraction = 0.1

// OpticksPath finds the book in the Go installation.
func OpticksPath() (string, error) {
	var roots []string
	if r := os.Getenv("GOROOT"); r != "" {
		roots = append(roots, r)
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		roots = append(roots, strings.TrimSpace(string(out)))
	}
	roots = append(roots, runtime.GOROOT())
	for _, r := range roots {
		p := filepath.Join(r, "src", "testdata", "Isaac.Newton-Opticks.txt")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("corpus: Isaac.Newton-Opticks.txt not found under GOROOT (%s)", strings.Join(roots, ", "))
}

// Opticks returns the prepared corpus split into training and validation text.
func Opticks() (train, val string, err error) {
	p, err := OpticksPath()
	if err != nil {
		return "", "", err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return "", "", err
	}
	body, err := stripLicence(string(raw))
	if err != nil {
		return "", "", err
	}
	text := tokenizer.ASCIIFold(body)
	train, val = data.SplitText(text, ValFraction)
	return train, val, nil
}

// stripLicence removes the Project Gutenberg header and footer, or, for a
// copy that has none (as in the Go tree), checks that no licence text is left
// and drops the leading producers' credit paragraph.
func stripLicence(raw string) (string, error) {
	if body, err := data.StripGutenberg(raw); err == nil {
		return body, nil
	}
	if strings.Contains(strings.ToLower(raw), "gutenberg") {
		return "", fmt.Errorf("corpus: the text mentions Project Gutenberg but its licence markers were not found")
	}
	body := strings.ReplaceAll(raw, "\r\n", "\n")
	if strings.HasPrefix(body, "Produced by") {
		end := strings.Index(body, "\n\n")
		if end < 0 {
			return "", fmt.Errorf("corpus: the producers' credit does not end")
		}
		body = body[end:]
	}
	return strings.TrimLeft(body, "\n"), nil
}
