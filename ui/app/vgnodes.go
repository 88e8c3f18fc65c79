package app

import "github.com/vugu/vugu"

// vgText and vgElem build the static nodes of 0_components_gen.go, which
// ui/internal/vgcompact rewrites to call them: one call per node is far
// less wasm than vugugen's inline composite literal (see vgcompact's doc).

// vgText appends a text node holding s to parent and returns it. Not
// inlined: inlining would put the composite literal back at every call.
//
//go:noinline
func vgText(parent *vugu.VGNode, s string) *vugu.VGNode {
	n := &vugu.VGNode{Type: vugu.TextNode, Data: s}
	parent.AppendChild(n)
	return n
}

// vgElem appends an element node with tag and the attributes kv (key,
// value, key, value, …) to parent and returns it.
//
//go:noinline
func vgElem(parent *vugu.VGNode, tag string, kv ...string) *vugu.VGNode {
	n := &vugu.VGNode{Type: vugu.ElementNode, Data: tag}
	if len(kv) > 0 {
		n.Attr = make([]vugu.VGAttribute, len(kv)/2)
		for i := range n.Attr {
			n.Attr[i] = vugu.VGAttribute{Key: kv[2*i], Val: kv[2*i+1]}
		}
	}
	parent.AppendChild(n)
	return n
}
