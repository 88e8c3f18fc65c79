// Command vgcompact rewrites vugugen's output so that each static node is
// one call instead of an inline composite literal.
//
// vugugen writes every text and element node as
//
//	vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "div", Attr: []vugu.VGAttribute{{Namespace: "", Key: "class", Val: "x"}}}
//	vgparent.AppendChild(vgn)
//
// which Go compiles, under js/wasm, to about a kilobyte of code per node
// (an allocation, a field store with a write barrier per pointer, the
// attribute slice built on the heap): the page's ~900 nodes were most of
// ui.wasm's Build code. vgcompact turns those two lines into
//
//	vgn = vgElem(vgparent, "div", "class", "x")
//
// (and vgText(vgparent, "…") for text nodes), helpers in ui/app/vgnodes.go
// that build the same node and append it the same way, so the rendered tree
// is unchanged. Lines it does not recognise (the root node, components,
// dynamic attributes) are left as they are.
//
// Usage (from ui/app/generate.go, after vugugen): vgcompact FILE
package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

const quoted = `"(?:[^"\\]|\\.)*"`

var (
	textNode = regexp.MustCompile(`^(\s*)vgn = &vugu\.VGNode\{Type: vugu\.VGNodeType\(1\), Data: (` + quoted + `)\}$`)
	elemNode = regexp.MustCompile(`^(\s*)vgn = &vugu\.VGNode\{Type: vugu\.VGNodeType\(3\), Namespace: "", Data: (` + quoted + `), Attr: (.*)\}$`)
	noAttrs  = `[]vugu.VGAttribute(nil)`
	attrList = regexp.MustCompile(`^\[\]vugu\.VGAttribute\{(.*)\}$`)
	oneAttr  = regexp.MustCompile(`^(?:vugu\.VGAttribute)?\{Namespace: "", Key: (` + quoted + `), Val: (` + quoted + `)\}(?:, )?`)
	appendTo = regexp.MustCompile(`^\s*vgparent\.AppendChild\(vgn\)$`)
)

// attrs returns the key, value pairs of a generated attribute list, or
// false when the list is not of the static form.
func attrs(lit string) ([]string, bool) {
	if lit == noAttrs {
		return nil, true
	}
	m := attrList.FindStringSubmatch(lit)
	if m == nil {
		return nil, false
	}
	var kv []string
	for rest := m[1]; rest != ""; {
		a := oneAttr.FindStringSubmatch(rest)
		if a == nil {
			return nil, false
		}
		kv = append(kv, a[1], a[2])
		rest = rest[len(a[0]):]
	}
	return kv, true
}

func compact(src string) (string, int) {
	lines := strings.Split(src, "\n")
	out := make([]string, 0, len(lines))
	n := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if i+1 < len(lines) && appendTo.MatchString(lines[i+1]) {
			if m := textNode.FindStringSubmatch(line); m != nil {
				out = append(out, m[1]+"vgn = vgText(vgparent, "+m[2]+")")
				i++
				n++
				continue
			}
			if m := elemNode.FindStringSubmatch(line); m != nil {
				if kv, ok := attrs(m[3]); ok {
					args := append([]string{"vgparent", m[2]}, kv...)
					out = append(out, m[1]+"vgn = vgElem("+strings.Join(args, ", ")+")")
					i++
					n++
					continue
				}
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), n
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: vgcompact FILE")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	src, _ := compact(string(b))
	if err := os.WriteFile(os.Args[1], []byte(src), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
