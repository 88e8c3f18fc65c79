package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lora-playground/lora-playground/core/model"
)

// modelPrefix is the namespace of the shipped base models' names, as
// written in their config.json and in every adapter trained on them.
const modelPrefix = "lora-playground/"

// maxModelBytes caps a base model's weights read from the assets. The
// shipped models are 0.5 and 1.7 MB; Workers' memory is 128 MB.
const maxModelBytes = 32 << 20

// maxModelConfigBytes caps a base model's config.json.
const maxModelConfigBytes = 1 << 20

var sizeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// errUnknownBase says a name is not a shipped base model.
var errUnknownBase = errors.New("unknown base model")

// baseDir resolves a base model name ("lora-playground/nano" or "nano") to
// its canonical name and its folder among the static assets.
func baseDir(name string) (canonical, dir string, err error) {
	size := strings.TrimPrefix(name, modelPrefix)
	if !sizeName.MatchString(size) {
		return "", "", fmt.Errorf("%w %q: shipped models are named %q followed by a size such as nano or tiny", errUnknownBase, name, modelPrefix)
	}
	return modelPrefix + size, "/models/" + size + "/", nil
}

// loadBaseConfig reads a shipped base model's config.json from the assets,
// and checks that it is the model it is named as.
func loadBaseConfig(ctx context.Context, a Assets, name string) (model.Config, string, error) {
	canonical, dir, err := baseDir(name)
	if err != nil {
		return model.Config{}, "", err
	}
	b, err := a.Read(ctx, dir+model.ConfigFile, maxModelConfigBytes)
	if errors.Is(err, ErrNotFound) {
		return model.Config{}, "", fmt.Errorf("%w %q: this site ships no such model", errUnknownBase, canonical)
	}
	if err != nil {
		return model.Config{}, "", fmt.Errorf("reading %s%s: %w", dir, model.ConfigFile, err)
	}
	c, err := model.ParseConfig(b)
	if err != nil {
		return model.Config{}, "", fmt.Errorf("%s%s: %w", dir, model.ConfigFile, err)
	}
	if c.Name != canonical {
		return model.Config{}, "", fmt.Errorf("%s%s names the model %q, not %q", dir, model.ConfigFile, c.Name, canonical)
	}
	return c, dir, nil
}

// loadBase reads a shipped base model, weights included.
func loadBase(ctx context.Context, a Assets, name string) (*model.Model, error) {
	c, dir, err := loadBaseConfig(ctx, a, name)
	if err != nil {
		return nil, err
	}
	b, err := a.Read(ctx, dir+model.WeightsFile, maxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("reading %s%s: %w", dir, model.WeightsFile, err)
	}
	m, err := model.DecodeWeights(c, b)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", dir, model.WeightsFile, err)
	}
	return m, nil
}
