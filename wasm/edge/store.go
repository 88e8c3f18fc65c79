package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is what the stores and Assets return for a missing key or
// file.
var ErrNotFound = errors.New("not found")

// Blob is an object read back from a BlobStore.
type Blob struct {
	Data     []byte
	Uploaded time.Time
}

// BlobStore is the part of an R2 bucket the API uses.
type BlobStore interface {
	// Exists reports whether key holds an object.
	Exists(ctx context.Context, key string) (bool, error)
	// Get reads key, or returns ErrNotFound.
	Get(ctx context.Context, key string) (*Blob, error)
	// Put writes data under key with the given Content-Type.
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// MetaStore is the part of a KV namespace the API uses.
type MetaStore interface {
	// Get reads key, or returns ErrNotFound.
	Get(ctx context.Context, key string) (string, error)
	Put(ctx context.Context, key, value string) error
}

// Assets reads the site's static files by URL path ("/models/nano/config.json").
type Assets interface {
	// Read returns the file's bytes, or ErrNotFound. It refuses files over
	// limit bytes.
	Read(ctx context.Context, urlPath string, limit int64) ([]byte, error)
}

// MemBlobs is an in-memory BlobStore, for tests and `edge serve`.
type MemBlobs struct {
	mu   sync.Mutex
	objs map[string]Blob
	// Puts counts successful writes, so tests can see that nothing is
	// written twice.
	Puts int
	// Now stamps uploads; nil means time.Now.
	Now func() time.Time
}

func (m *MemBlobs) Exists(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objs[key]
	return ok, nil
}

func (m *MemBlobs) Get(_ context.Context, key string) (*Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, ErrNotFound
	}
	return &Blob{Data: append([]byte(nil), b.Data...), Uploaded: b.Uploaded}, nil
}

func (m *MemBlobs) Put(_ context.Context, key string, data []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string]Blob{}
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	m.objs[key] = Blob{Data: append([]byte(nil), data...), Uploaded: now().UTC()}
	m.Puts++
	return nil
}

// MemMeta is an in-memory MetaStore, for tests and `edge serve`.
type MemMeta struct {
	mu   sync.Mutex
	vals map[string]string
}

func (m *MemMeta) Get(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[key]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (m *MemMeta) Put(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vals == nil {
		m.vals = map[string]string{}
	}
	m.vals[key] = value
	return nil
}

// Delete removes key, to simulate KV's eventual consistency in tests.
func (m *MemMeta) Delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.vals, key)
}

// FSAssets serves Assets from a file system laid out like dist/.
type FSAssets struct{ FS fs.FS }

func (a FSAssets) Read(_ context.Context, urlPath string, limit int64) ([]byte, error) {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if !fs.ValidPath(name) || name == "." {
		return nil, ErrNotFound
	}
	f, err := a.FS.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, limit)
}

// readLimited reads r to the end, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

var errTooLarge = errors.New("over the size limit")
