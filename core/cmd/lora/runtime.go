package main

import "runtime"

func runtimeName() string { return runtime.GOOS + "/" + runtime.GOARCH }
