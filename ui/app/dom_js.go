//go:build js

package app

import (
	sjs "syscall/js"

	"github.com/vugu/vugu/js"
)

// sameElement reports whether a and b are the same DOM element.
func sameElement(a, b js.Value) bool { return sjs.Value(a).Equal(sjs.Value(b)) }
