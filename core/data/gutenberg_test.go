package data

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const gutenbergHeader = `The Project Gutenberg EBook of Opticks, by Isaac Newton

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.

Title: Opticks

*** START OF THIS PROJECT GUTENBERG EBOOK OPTICKS ***




`

const gutenbergFooter = `




End of the Project Gutenberg EBook of Opticks, by Isaac Newton

*** END OF THIS PROJECT GUTENBERG EBOOK OPTICKS ***

***** This file should be named 33504-8.txt or 33504-8.zip *****
`

func TestStripGutenberg(t *testing.T) {
	tests := []struct {
		name, text, want, wantErr string
	}{
		{"modern markers", "licence\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nBody line 1.\nBody line 2.\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nlicence\n",
			"Body line 1.\nBody line 2.", ""},
		{"old footer first", gutenbergHeader + "Body.\n" + gutenbergFooter, "Body.", ""},
		{"no space, lower case", "***start of the ebook***\nBody\n***end of the ebook***", "Body", ""},
		{"CRLF", "h\r\n*** START OF X ***\r\n\r\nA\r\nB\r\n\r\n*** END OF X ***\r\n", "A\r\nB", ""},
		{"inner blank lines kept", "*** START OF X ***\nA\n\n\nB\n*** END OF X ***", "A\n\n\nB", ""},
		{"no start", "Just a book.\n*** END OF X ***\n", "", "START OF"},
		{"no end", "*** START OF X ***\nBody\n", "", "END OF"},
		{"end before start only", "*** END OF X ***\n*** START OF X ***\nBody\n", "", "END OF"},
		{"empty body", "*** START OF X ***\n\n\n*** END OF X ***\n", "", "nothing between"},
		{"mention is not a marker", "See *** START OF below\nBody\n", "", "START OF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StripGutenberg(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("StripGutenberg = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("StripGutenberg = %q, want %q", got, tt.want)
			}
		})
	}
}

// opticksPath finds Newton's Opticks in the Go installation's test data.
// Under js/wasm the test binary reads the host's file system through node,
// so the same path works there.
func opticksPath(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("GOROOT"), runtime.GOROOT()} {
		path := filepath.Join(dir, "src", "testdata", "Isaac.Newton-Opticks.txt")
		if _, err := os.Stat(path); dir != "" && err == nil {
			return path
		}
	}
	t.Fatalf("cannot find GOROOT/src/testdata/Isaac.Newton-Opticks.txt (GOROOT=%q, runtime.GOROOT()=%q)", os.Getenv("GOROOT"), runtime.GOROOT())
	return ""
}

// TestStripGutenbergOpticks uses the copy of the Opticks that ships with Go.
// That copy has already had its licence header and footer removed (it starts
// at "Produced by ..."), so StripGutenberg must refuse it rather than guess;
// wrapped in the header and footer of the Gutenberg release, it must come
// back exactly.
func TestStripGutenbergOpticks(t *testing.T) {
	raw, err := os.ReadFile(opticksPath(t))
	if err != nil {
		t.Fatal(err)
	}
	opticks := string(raw)
	if _, err := StripGutenberg(opticks); err == nil || !strings.Contains(err.Error(), "START OF") {
		t.Errorf("StripGutenberg(Go's Opticks, which has no licence header) error = %v; want the missing start marker", err)
	}
	body := strings.Trim(opticks, "\r\n")
	for _, nl := range []string{"\n", "\r\n"} {
		wrapped := strings.ReplaceAll(gutenbergHeader+opticks+gutenbergFooter, "\n", nl)
		got, err := StripGutenberg(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.ReplaceAll(body, "\n", nl); got != want {
			t.Errorf("with %q line ends: stripped text is %d bytes and starts %q; want the %d-byte book", nl, len(got), got[:min(60, len(got))], len(want))
		}
	}
}
