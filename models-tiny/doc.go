// Package modelstiny holds the tests of the base models shipped in this
// folder (nano/, tiny/) and of the fine-tuning results table. The models
// themselves are data: config.json, model.safetensors and MODEL_CARD.md,
// written by ./pretrain.
package modelstiny
