package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/lora-playground/lora-playground/core/safetensors"
)

func Example() {
	// Write two float32 tensors and a metadata entry.
	file := &safetensors.File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: []safetensors.Tensor{
			safetensors.F32("lora_B", []int{2, 1}, []float32{0, 0}),
			safetensors.F32("lora_A", []int{1, 3}, []float32{0.5, -1, 2}),
		},
	}
	b, err := safetensors.Encode(file)
	if err != nil {
		log.Fatal(err)
	}
	// 8-byte length, header padded with spaces to a multiple of 8, 20 data bytes.
	fmt.Printf("%d bytes: header %q\n", len(b), b[8:len(b)-20])

	// Read it back, refusing anything over 1 MiB.
	got, err := safetensors.Read(bytes.NewReader(b), 1<<20)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range got.Tensors {
		v, err := t.Float32s()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Name, t.Shape, v)
	}
	fmt.Println("format:", got.Metadata["format"])
	// Output:
	// 188 bytes: header "{\"__metadata__\":{\"format\":\"pt\"},\"lora_A\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[0,12]},\"lora_B\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[12,20]}}     "
	// lora_A [1 3] [0.5 -1 2]
	// lora_B [2 1] [0 0]
	// format: pt
}
