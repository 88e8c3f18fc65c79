//go:build !js

package app

import "github.com/vugu/vugu/js"

// sameElement reports whether a and b are the same DOM element (never,
// outside a browser).
func sameElement(a, b js.Value) bool { return false }
