package data

import (
	"errors"
	"strings"
)

// StripGutenberg returns the body of a Project Gutenberg e-book: the text
// between the licence header, which ends with a line such as
//
//	*** START OF THE PROJECT GUTENBERG EBOOK OPTICKS ***
//
// and the licence footer, which begins with a line such as
//
//	*** END OF THE PROJECT GUTENBERG EBOOK OPTICKS ***
//
// or, in older files, "End of the Project Gutenberg EBook of ...", whichever
// comes first. The marker lines themselves are removed, as are blank lines
// (including "\r\n" ones) at either end of the body; the body is otherwise
// returned unchanged. Markers are recognised with or without a space after
// the asterisks and in any letter case.
//
// A text without a start marker, without an end marker after it, or with
// nothing between them is an error: stripping by guesswork could leave
// licence text in a training corpus, or cut off part of the book.
func StripGutenberg(text string) (string, error) {
	bodyStart, bodyEnd := -1, -1
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		next := len(text)
		if end >= 0 {
			next = pos + end + 1
		}
		line := text[pos:next]
		if bodyStart < 0 {
			if isMarker(line, "START OF") {
				bodyStart = next
			}
		} else if isMarker(line, "END OF") || isOldFooter(line) {
			bodyEnd = pos
			break
		}
		pos = next
	}
	switch {
	case bodyStart < 0:
		return "", errors.New(`no "*** START OF ..." line: this does not look like a Project Gutenberg e-book with its licence header`)
	case bodyEnd < 0:
		return "", errors.New(`no "*** END OF ..." or "End of the Project Gutenberg ..." line after the "*** START OF ..." line`)
	}
	body := strings.Trim(text[bodyStart:bodyEnd], "\r\n")
	if strings.TrimSpace(body) == "" {
		return "", errors.New("nothing between the Project Gutenberg start and end markers")
	}
	return body, nil
}

// isMarker reports whether line is "***" followed by what (any case).
func isMarker(line, what string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "***")
	if !ok {
		return false
	}
	rest = strings.TrimLeft(rest, " *")
	return len(rest) >= len(what) && strings.EqualFold(rest[:len(what)], what)
}

// isOldFooter reports whether line starts the footer of older Gutenberg
// files, "End of the Project Gutenberg EBook of ..." or "End of Project
// Gutenberg's ...".
func isOldFooter(line string) bool {
	line = strings.ToLower(strings.TrimSpace(line))
	return strings.HasPrefix(line, "end of the project gutenberg") ||
		strings.HasPrefix(line, "end of project gutenberg")
}
