package app

// vugugen compiles the .vugu files into 0_components_gen.go. Run natively
// (`go generate ./ui/...`): with GOOS=js the tool itself would be built for wasm.
//go:generate go tool vugugen -s -skip-go-mod -skip-main
//go:generate go run ../internal/vgcompact 0_components_gen.go
