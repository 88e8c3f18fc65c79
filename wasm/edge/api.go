package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lora-playground/lora-playground/core/model"
	"github.com/lora-playground/lora-playground/core/peft"
	"github.com/lora-playground/lora-playground/core/sample"
	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
)

// Limits bound what one request may ask of the worker.
type Limits struct {
	// AdapterBytes caps an uploaded archive, and separately what its two
	// files may inflate to. A rank-64 adapter on every module of the tiny
	// model is 1.2 MB.
	AdapterBytes int64
	// MaxTokens caps max_tokens in /api/generate.
	MaxTokens int
	// PromptChars caps the prompt, in characters.
	PromptChars int
	// GenerateTime caps the wall-clock time of /api/generate, from the
	// request's arrival (loading the models counts) to the last token.
	GenerateTime time.Duration
}

// DefaultLimits are the limits the worker runs with, as edgeapi states
// them to clients.
var DefaultLimits = Limits{
	AdapterBytes: edgeapi.MaxAdapterBytes,
	MaxTokens:    edgeapi.MaxTokens,
	PromptChars:  edgeapi.MaxPromptChars,
	GenerateTime: edgeapi.GenerateTime,
}

// maxGenerateBodyLen caps the JSON body of /api/generate.
const maxGenerateBodyLen = 16 << 10

// Server is the API. Its zero value is not usable: set the stores.
type Server struct {
	Blobs  BlobStore
	Meta   MetaStore
	Assets Assets
	Limits Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives internal errors and recovered panics; nil means log.Printf.
	Log func(format string, args ...any)
}

// apiError is an error with its HTTP status and machine-readable code.
type apiError struct {
	status  int
	code    string
	message string
	allow   string // the Allow header of a 405
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func blobKey(id string) string { return "adapters/" + id + ".zip" }
func metaKey(id string) string { return "adapter:" + id }

// ServeHTTP routes a request. Every answer that is not a success is a JSON
// error, and a panic anywhere below becomes a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &trackingWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			s.logf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			if !rw.wrote {
				writeError(rw, errorf(http.StatusInternalServerError, "internal", "internal error"))
			}
		}
	}()
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	if err := s.route(rw, r); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.logf("%s %s: %v", r.Method, r.URL.Path, err)
			ae = errorf(http.StatusInternalServerError, "internal", "internal error")
		}
		if ae.allow != "" {
			rw.Header().Set("Allow", ae.allow)
		}
		writeError(rw, ae)
	}
}

// route dispatches on the path by hand rather than through ServeMux, whose
// 404 and 405 answers are plain text.
func (s *Server) route(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Path
	allow := func(methods ...string) error {
		for _, m := range methods {
			if r.Method == m {
				return nil
			}
		}
		e := errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s does not accept %s; use %s",
			p, truncate(r.Method, 20), strings.Join(methods, " or "))
		e.allow = strings.Join(methods, ", ")
		return e
	}
	switch {
	case p == edgeapi.HealthPath:
		if err := allow(http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
		return nil
	case p == edgeapi.AdaptersPath:
		if err := allow(http.MethodPost); err != nil {
			return err
		}
		return s.upload(w, r)
	case p == edgeapi.GeneratePath:
		if err := allow(http.MethodPost); err != nil {
			return err
		}
		return s.generate(w, r)
	case strings.HasPrefix(p, "/api/adapters/"):
		rest := strings.TrimPrefix(p, "/api/adapters/")
		id, sub, _ := strings.Cut(rest, "/")
		if sub != "" && sub != "config" || strings.HasSuffix(rest, "/") {
			break
		}
		if err := allow(http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		if !edgeapi.ValidID(id) {
			return errorf(http.StatusNotFound, "not_found", "no adapter %q: ids are 64 lowercase hex digits (the archive's SHA-256)", truncate(id, 80))
		}
		if sub == "config" {
			return s.config(w, r, id)
		}
		return s.download(w, r, id)
	}
	return errorf(http.StatusNotFound, "not_found", "no such endpoint: %s", truncate(p, 200))
}

// upload validates an adapter archive fully and stores it under its hash.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/zip" && mt != "application/x-zip-compressed" {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the adapter as one PEFT archive with Content-Type application/zip (got %q)", truncate(r.Header.Get("Content-Type"), 100))
	}
	limit := s.limits().AdapterBytes
	if r.ContentLength > limit {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the archive is %d bytes; the limit is %d", r.ContentLength, limit)
	}
	body, err := readLimited(r.Body, limit)
	if errors.Is(err, errTooLarge) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the archive is over the %d-byte limit", limit)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "bad_request", "reading the request body: %v", err)
	}
	if len(body) == 0 {
		return errorf(http.StatusBadRequest, "invalid_adapter", "the request body is empty; send a PEFT archive (.zip)")
	}
	a, err := peft.DecodeArchive(body, limit)
	if err != nil {
		return errorf(http.StatusBadRequest, "invalid_adapter", "%v", err)
	}
	base, err := s.checkFits(ctx, a)
	if err != nil {
		return err
	}
	configJSON, _, err := peft.Encode(a)
	if err != nil { // Decode accepted it, so Encode must too.
		return fmt.Errorf("re-encoding an accepted adapter: %w", err)
	}
	sum := sha256.Sum256(body)
	id := hex.EncodeToString(sum[:])

	exists, err := s.Blobs.Exists(ctx, blobKey(id))
	if err != nil {
		return fmt.Errorf("R2 head %s: %w", blobKey(id), err)
	}
	if !exists {
		if err := s.Blobs.Put(ctx, blobKey(id), body, "application/zip"); err != nil {
			return fmt.Errorf("R2 put %s: %w", blobKey(id), err)
		}
	}
	if _, err := s.Meta.Get(ctx, metaKey(id)); errors.Is(err, ErrNotFound) {
		meta := metadataOf(id, base, a, configJSON, len(body), s.now())
		mb, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		if err := s.Meta.Put(ctx, metaKey(id), string(mb)); err != nil {
			return fmt.Errorf("KV put %s: %w", metaKey(id), err)
		}
	} else if err != nil {
		return fmt.Errorf("KV get %s: %w", metaKey(id), err)
	}
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/adapters/"+id)
	writeJSON(w, status, edgeapi.Upload{ID: id, Created: !exists, Base: base,
		URL: edgeapi.AdapterPath(id), ConfigURL: edgeapi.AdapterPath(id) + "/config"})
	return nil
}

// checkFits checks that a names a shipped base model and fits it exactly:
// every tensor's module exists there with matching shapes, and the model
// would accept it (the same ImportAdapter generation uses). It returns the
// base model's canonical name.
func (s *Server) checkFits(ctx context.Context, a *peft.Adapter) (string, error) {
	name := a.Config.BaseModelNameOrPath
	if name == "" {
		return "", errorf(http.StatusUnprocessableEntity, "unknown_base_model",
			"adapter_config.json has no base_model_name_or_path; it must name a shipped model such as %snano", modelPrefix)
	}
	if !strings.HasPrefix(name, modelPrefix) {
		return "", errorf(http.StatusUnprocessableEntity, "unknown_base_model",
			"the adapter was trained on %q; this site serves only its own base models (%s…)", truncate(name, 100), modelPrefix)
	}
	c, _, err := loadBaseConfig(ctx, s.Assets, name)
	if errors.Is(err, errUnknownBase) {
		return "", errorf(http.StatusUnprocessableEntity, "unknown_base_model", "%v", err)
	}
	if err != nil {
		return "", err
	}
	m, err := model.New(c)
	if err != nil {
		return "", err
	}
	if _, err := m.ImportAdapter(a); err != nil {
		return "", errorf(http.StatusUnprocessableEntity, "adapter_mismatch", "the adapter does not fit %s: %v", c.Name, err)
	}
	return c.Name, nil
}

// metadataOf describes an accepted adapter.
func metadataOf(id, base string, a *peft.Adapter, configJSON []byte, size int, created time.Time) edgeapi.Metadata {
	params := 0
	for _, m := range a.Modules {
		params += len(m.A) + len(m.B)
	}
	return edgeapi.Metadata{ID: id, Base: base, R: a.Config.R, LoraAlpha: a.Config.LoraAlpha, UseRslora: a.Config.UseRslora,
		TargetModules: a.Config.TargetModules, Modules: len(a.Modules), Parameters: params, Bytes: size,
		Created: created.UTC().Truncate(time.Second), AdapterConfig: json.RawMessage(configJSON)}
}

// download answers the archive exactly as uploaded. The id is its hash, so
// it can be cached for good.
func (s *Server) download(w http.ResponseWriter, r *http.Request, id string) error {
	etag := `"` + id + `"`
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		if ok, err := s.Blobs.Exists(r.Context(), blobKey(id)); err == nil && ok {
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	b, err := s.Blobs.Get(r.Context(), blobKey(id))
	if errors.Is(err, ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no adapter %s", id)
	}
	if err != nil {
		return fmt.Errorf("R2 get %s: %w", blobKey(id), err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="adapter-`+id[:12]+`.zip"`)
	h.Set("Cache-Control", immutableCache)
	h.Set("ETag", etag)
	h.Set("Content-Length", fmt.Sprint(len(b.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b.Data)
	}
	return nil
}

// config answers an adapter's metadata from KV, or, when KV has not seen
// it yet (KV is eventually consistent across locations), from R2.
func (s *Server) config(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	v, err := s.Meta.Get(ctx, metaKey(id))
	var meta edgeapi.Metadata
	switch {
	case err == nil:
		if err := json.Unmarshal([]byte(v), &meta); err != nil {
			return fmt.Errorf("KV %s holds bad JSON: %w", metaKey(id), err)
		}
	case errors.Is(err, ErrNotFound):
		b, err := s.Blobs.Get(ctx, blobKey(id))
		if errors.Is(err, ErrNotFound) {
			return errorf(http.StatusNotFound, "not_found", "no adapter %s", id)
		}
		if err != nil {
			return fmt.Errorf("R2 get %s: %w", blobKey(id), err)
		}
		a, err := peft.DecodeArchive(b.Data, int64(len(b.Data))+s.limits().AdapterBytes)
		if err != nil {
			return fmt.Errorf("stored adapter %s no longer decodes: %w", id, err)
		}
		configJSON, _, err := peft.Encode(a)
		if err != nil {
			return err
		}
		meta = metadataOf(id, a.Config.BaseModelNameOrPath, a, configJSON, len(b.Data), b.Uploaded)
	default:
		return fmt.Errorf("KV get %s: %w", metaKey(id), err)
	}
	w.Header().Set("Cache-Control", immutableCache)
	writeJSON(w, http.StatusOK, meta)
	return nil
}

// generate runs the base model with an optional stored adapter.
func (s *Server) generate(w http.ResponseWriter, r *http.Request) error {
	start := s.now()
	lim := s.limits()
	deadline := start.Add(lim.GenerateTime)
	ctx := r.Context()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send a JSON body with Content-Type application/json")
	}
	body, err := readLimited(r.Body, maxGenerateBodyLen)
	if errors.Is(err, errTooLarge) {
		return errorf(http.StatusRequestEntityTooLarge, "too_large", "the request body is over %d bytes", maxGenerateBodyLen)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "bad_request", "reading the request body: %v", err)
	}
	var req edgeapi.GenerateRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errorf(http.StatusBadRequest, "bad_request", "the body is not a valid generate request: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "bad_request", "the body holds more than one JSON value")
	}
	n := edgeapi.DefaultMaxTokens
	if req.MaxTokens != nil {
		n = *req.MaxTokens
	}
	temp := 0.0
	if req.Temperature != nil {
		temp = *req.Temperature
	}
	switch {
	case n < 1:
		return errorf(http.StatusBadRequest, "invalid_request", "max_tokens must be at least 1, got %d", n)
	case n > lim.MaxTokens:
		return errorf(http.StatusBadRequest, "token_limit", "max_tokens is %d; this server generates at most %d tokens per request", n, lim.MaxTokens)
	case !(temp >= 0 && temp <= edgeapi.MaxTemperature):
		return errorf(http.StatusBadRequest, "invalid_request", "temperature must be between 0 and %v, got %v", edgeapi.MaxTemperature, temp)
	case req.Prompt == "":
		return errorf(http.StatusBadRequest, "invalid_request", "prompt is empty")
	case !utf8.ValidString(req.Prompt):
		return errorf(http.StatusBadRequest, "invalid_request", "prompt is not valid UTF-8")
	case utf8.RuneCountInString(req.Prompt) > lim.PromptChars:
		return errorf(http.StatusBadRequest, "prompt_limit", "the prompt is %d characters; the limit is %d", utf8.RuneCountInString(req.Prompt), lim.PromptChars)
	case req.Base == "" && req.Adapter == "":
		return errorf(http.StatusBadRequest, "invalid_request", "name a base model (base) or a shared adapter (adapter), or both")
	case req.Adapter != "" && !edgeapi.ValidID(req.Adapter):
		return errorf(http.StatusNotFound, "not_found", "no adapter %q: ids are 64 lowercase hex digits", truncate(req.Adapter, 80))
	}

	// The adapter first: its base is the default, and a mismatch is the
	// caller's error, found before the weights are read.
	var ad *peft.Adapter
	if req.Adapter != "" {
		b, err := s.Blobs.Get(ctx, blobKey(req.Adapter))
		if errors.Is(err, ErrNotFound) {
			return errorf(http.StatusNotFound, "not_found", "no adapter %s", req.Adapter)
		}
		if err != nil {
			return fmt.Errorf("R2 get %s: %w", blobKey(req.Adapter), err)
		}
		if ad, err = peft.DecodeArchive(b.Data, int64(len(b.Data))+lim.AdapterBytes); err != nil {
			return fmt.Errorf("stored adapter %s no longer decodes: %w", req.Adapter, err)
		}
	}
	baseName := req.Base
	if baseName == "" {
		baseName = ad.Config.BaseModelNameOrPath
	}
	canonical, _, err := baseDir(baseName)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "unknown_base_model", "%v", err)
	}
	if ad != nil && ad.Config.BaseModelNameOrPath != canonical {
		return errorf(http.StatusUnprocessableEntity, "adapter_mismatch", "adapter %s was trained on %s, not %s", req.Adapter, ad.Config.BaseModelNameOrPath, canonical)
	}
	m, err := loadBase(ctx, s.Assets, canonical)
	if errors.Is(err, errUnknownBase) {
		return errorf(http.StatusUnprocessableEntity, "unknown_base_model", "%v", err)
	}
	if err != nil {
		return err
	}
	if ad != nil {
		if _, err := m.ImportAdapter(ad); err != nil {
			return errorf(http.StatusUnprocessableEntity, "adapter_mismatch", "the adapter does not fit %s: %v", canonical, err)
		}
	}
	tok, err := m.Config.NewTokenizer()
	if err != nil {
		return fmt.Errorf("%s: %w", canonical, err)
	}
	prompt, unknown := tok.Encode(req.Prompt)
	out, err := sample.Generate(m, prompt, sample.Options{MaxTokens: n, Temperature: temp, Seed: req.Seed,
		Continue: stopAt(s.now, deadline)})
	if errors.Is(err, errDeadline) {
		return errorf(http.StatusServiceUnavailable, "time_limit",
			"generation stopped at the %v time limit after %d of %d tokens; ask for fewer tokens", lim.GenerateTime, len(out), n)
	}
	if err != nil {
		return fmt.Errorf("generating: %w", err)
	}
	resp := edgeapi.GenerateResponse{Base: canonical, Adapter: req.Adapter, Prompt: req.Prompt, Text: tok.Decode(out),
		Tokens: len(out), Temperature: temp, Seed: req.Seed, Millis: s.now().Sub(start).Milliseconds()}
	resp.Unknown = unknown.String()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// immutableCache is the Cache-Control of content-addressed responses.
const immutableCache = "public, max-age=31536000, immutable"

func (s *Server) limits() Limits {
	if s.Limits == (Limits{}) {
		return DefaultLimits
	}
	return s.Limits
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
		return
	}
	log.Printf(format, args...)
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes e as {"error": code, "message": text}.
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.status, edgeapi.Error{Code: e.code, Message: e.message})
}

// truncate shortens s to at most n bytes for quoting in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// trackingWriter records whether the response has started, so a recovered
// panic knows whether it can still send an error.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}
