package main

import "testing"

func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		n              int
	}{
		{"text node",
			"\t\tvgn = &vugu.VGNode{Type: vugu.VGNodeType(1), Data: \"\\n  \"}\n\t\tvgparent.AppendChild(vgn)",
			"\t\tvgn = vgText(vgparent, \"\\n  \")", 1},
		{"text with quotes and braces",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(1), Data: \"say \\\"}{\\\" ok\"}\nvgparent.AppendChild(vgn)",
			"vgn = vgText(vgparent, \"say \\\"}{\\\" ok\")", 1},
		{"element without attributes",
			"\tvgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"h2\", Attr: []vugu.VGAttribute(nil)}\n\tvgparent.AppendChild(vgn)",
			"\tvgn = vgElem(vgparent, \"h2\")", 1},
		{"element with attributes",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"button\", Attr: []vugu.VGAttribute{{Namespace: \"\", Key: \"role\", Val: \"tab\"}, vugu.VGAttribute{Namespace: \"\", Key: \"data-testid\", Val: \"a, b}\"}}}\nvgparent.AppendChild(vgn)",
			"vgn = vgElem(vgparent, \"button\", \"role\", \"tab\", \"data-testid\", \"a, b}\")", 1},
		{"the root is appended elsewhere: unchanged",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"div\", Attr: []vugu.VGAttribute(nil)}\nvgout.Out = append(vgout.Out, vgn)\t// root for output",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"div\", Attr: []vugu.VGAttribute(nil)}\nvgout.Out = append(vgout.Out, vgn)\t// root for output", 0},
		{"a namespaced attribute: unchanged",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"use\", Attr: []vugu.VGAttribute{{Namespace: \"xlink\", Key: \"href\", Val: \"#a\"}}}\nvgparent.AppendChild(vgn)",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: \"\", Data: \"use\", Attr: []vugu.VGAttribute{{Namespace: \"xlink\", Key: \"href\", Val: \"#a\"}}}\nvgparent.AppendChild(vgn)", 0},
		{"a comment node: unchanged",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(4), Data: \"x\"}\nvgparent.AppendChild(vgn)",
			"vgn = &vugu.VGNode{Type: vugu.VGNodeType(4), Data: \"x\"}\nvgparent.AppendChild(vgn)", 0},
	} {
		got, n := compact(tc.in)
		if got != tc.want || n != tc.n {
			t.Errorf("%s:\n got %q (%d rewritten)\nwant %q (%d)", tc.name, got, n, tc.want, tc.n)
		}
	}
}
