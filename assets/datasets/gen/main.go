// Command gen writes the fine-tuning tasks of package datasets into a
// directory, by default assets/datasets when run from the repository root:
//
//	go run ./assets/datasets/gen [-out dir]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lora-playground/lora-playground/assets/datasets"
)

func main() {
	out := flag.String("out", "assets/datasets", "directory to write one folder per task into (it must exist)")
	flag.Parse()
	if info, err := os.Stat(*out); err != nil || !info.IsDir() {
		fmt.Fprintf(os.Stderr, "gen: %s is not a directory; run from the repository root or pass -out\n", *out)
		os.Exit(2)
	}
	if err := datasets.Generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
