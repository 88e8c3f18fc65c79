module github.com/lora-playground/lora-playground

go 1.26.8
