// Package nn holds the layers of a GPT-2-style decoder as pairs of plain
// functions over flat float32 slices, in the manner of llm.c's train_gpt2.c:
// every layer has an xxxForward that writes its output (and whatever it must
// remember for the backward pass) and an xxxBackward that, given the gradient
// of the loss with respect to the layer's output, accumulates (+=) the
// gradients with respect to its inputs and parameters.
//
// Conventions:
//
//   - Activations are row-major. A comment such as // (B,T,C) gives a buffer's
//     shape: B sequences in the batch, T positions, C channels.
//   - Backward functions accumulate into their gradient buffers, so the caller
//     zeroes them once per step. This is what lets a residual stream receive
//     gradient from two branches without extra copies.
//   - A nil parameter-gradient slice means "this parameter is frozen": the
//     backward pass skips the work instead of computing a gradient nobody
//     reads. This is where LoRA's savings in compute (not only in memory)
//     come from.
//
// Every backward function is checked against central finite differences of
// its forward function in the package tests.
package nn
