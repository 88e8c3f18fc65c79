package app

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
)

// Net is HTTP to the page's own origin (fetch in the browser). It is
// separate from Host so that a page without it (tests, hosts that do not
// provide it) simply cannot share.
type Net interface {
	// Fetch requests url, relative to the page, and calls done with the
	// App locked for rendering. err is set only when no response came.
	Fetch(method, url, contentType string, body []byte, done func(status int, body []byte, err error))
	// PageURL is the page's address without its '#' fragment.
	PageURL() string
}

// ShareView is the Share button's side of the adapter file panel.
type ShareView struct {
	Busy    bool
	Message string // what sharing is doing, or why it cannot
	Link    string // the link to the uploaded adapter
	ID      string // the edge's id of the adapter shown (shared from here or opened from a link)
	Server  string // the edge's generation with ID, for the last Generate
}

// NeedsEdge is what the Share button says when the page is served without
// the edge API (plain ./build.sh serve answers 404 to api/health).
const NeedsEdge = "Sharing needs the edge API, which this server does not run: start the site with ./build.sh edge (or go run ./wasm/edge serve -dist dist) and share from there. Export still saves the adapter as a file."

// hashParam is the hash key that names a shared adapter.
const hashParam = "adapter"

// ShareLink is the link that opens the page at pageURL with the settings in
// hash and the edge's adapter id loaded. An adapter already in hash is
// replaced, and a fragment already on pageURL is dropped.
func ShareLink(pageURL, hash, id string) string {
	if i := strings.IndexByte(pageURL, '#'); i >= 0 {
		pageURL = pageURL[:i]
	}
	parts := withoutAdapter(hash)
	parts = append(parts, hashParam+"="+url.QueryEscape(id))
	return pageURL + "#" + strings.Join(parts, "&")
}

func withoutAdapter(hash string) []string {
	var parts []string
	for _, p := range strings.Split(strings.TrimPrefix(hash, "#"), "&") {
		if p == "" || p == hashParam || strings.HasPrefix(p, hashParam+"=") {
			continue
		}
		parts = append(parts, p)
	}
	return parts
}

// AdapterFromHash returns the shared adapter's id named in a URL fragment
// (with or without '#'), or "" when there is none or it is not an id.
func AdapterFromHash(hash string) string {
	vals, _ := url.ParseQuery(strings.TrimPrefix(hash, "#"))
	vs := vals[hashParam]
	if len(vs) == 0 {
		return ""
	}
	id := strings.ToLower(strings.TrimSpace(vs[len(vs)-1]))
	if !edgeapi.ValidID(id) {
		return ""
	}
	return id
}

// apiURL is an API path relative to the page, so that a site served under
// a prefix still reaches its own edge.
func apiURL(path string) string { return strings.TrimPrefix(path, "/") }

// apiError is the message of an edge error body, or the status.
func apiError(status int, body []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	var e edgeapi.Error
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d", status)
}

// Share checks that the edge API is there, then exports the adapter and
// uploads it (OnExported), and shows a link that opens it.
func (a *App) Share() {
	a.Error = ""
	a.Shared.Link = ""
	if a.Net == nil {
		a.Shared.Message = NeedsEdge
		return
	}
	a.Shared.Busy = true
	a.Shared.Message = "checking for the edge API…"
	a.Net.Fetch("GET", apiURL(edgeapi.HealthPath), "", nil, func(status int, body []byte, err error) {
		var h struct {
			OK bool `json:"ok"`
		}
		if err != nil || status != 200 || json.Unmarshal(body, &h) != nil || !h.OK {
			a.Shared.Busy = false
			a.Shared.Message = NeedsEdge
			return
		}
		if !a.Started || !a.Applied.LoRALike() {
			a.Shared.Busy = false
			a.Shared.Message = "sharing uploads a LoRA adapter; train a LoRA run first"
			return
		}
		a.sharing = true
		a.Shared.Message = "packing the adapter…"
		a.T.Export()
	})
}

// shareFailed ends a share that could not finish.
func (a *App) shareFailed(msg string) {
	a.sharing = false
	a.Shared.Busy = false
	a.Shared.Message = msg
}

// upload sends the exported archive to the edge.
func (a *App) upload(data []byte) {
	a.Shared.Message = fmt.Sprintf("uploading the adapter (%s)…", Bytes(int64(len(data))))
	a.Net.Fetch("POST", apiURL(edgeapi.AdaptersPath), "application/zip", data, func(status int, body []byte, err error) {
		var up edgeapi.Upload
		if err != nil || (status != 200 && status != 201) || json.Unmarshal(body, &up) != nil || !edgeapi.ValidID(up.ID) {
			a.shareFailed("the upload failed: " + apiError(status, body, err))
			return
		}
		a.Shared.Busy = false
		a.Shared.ID, a.Shared.Server = up.ID, ""
		a.Shared.Link = ShareLink(a.Net.PageURL(), a.State.Hash(), up.ID)
		a.Shared.Message = "Anyone with this link opens the playground with your adapter loaded:"
	})
}

// LoadShared fetches the edge's adapter id (named in the page's link) and
// imports it into the worker like a chosen file.
func (a *App) LoadShared(id string) {
	if a.Net == nil || !edgeapi.ValidID(id) {
		return
	}
	a.Shared.ID = id
	a.Shared.Message = "fetching the shared adapter…"
	a.Net.Fetch("GET", apiURL(edgeapi.AdapterPath(id)), "", nil, func(status int, body []byte, err error) {
		if err != nil || status != 200 {
			a.Shared.ID = ""
			a.Shared.Message = ""
			if status == 404 && err == nil && json.Unmarshal(body, &edgeapi.Error{}) != nil {
				a.Error = "this link names a shared adapter, but " + NeedsEdge
				return
			}
			a.Error = "could not fetch the shared adapter: " + apiError(status, body, err)
			return
		}
		// The adapter fits the link's model: a restored session on
		// another model is set aside for it.
		if a.Started && a.Applied.Model != a.State.Model {
			a.startRun()
		}
		a.Shared.Message = "opened the shared adapter " + id[:12] + "; Generate shows the edge's sample beside yours"
		a.Import("shared-"+id[:12]+".zip", body)
	})
}

// serverSample asks the edge for the shared adapter's generation with the
// samples panel's prompt and seed, to show beside the local one.
func (a *App) serverSample() {
	if a.Net == nil || a.Shared.ID == "" {
		return
	}
	tokens := max(1, min(a.Sample.Tokens, edgeapi.MaxTokens))
	temp := 0.8 // as Client.Sample
	req := edgeapi.GenerateRequest{Base: a.Applied.Model, Adapter: a.Shared.ID, Prompt: a.Sample.Prompt,
		MaxTokens: &tokens, Temperature: &temp, Seed: uint64(a.Sample.Seed)}
	body, _ := json.Marshal(req)
	id := a.Shared.ID
	a.Shared.Server = "asking the edge…"
	a.Net.Fetch("POST", apiURL(edgeapi.GeneratePath), "application/json", body, func(status int, b []byte, err error) {
		if a.Shared.ID != id {
			return
		}
		var g edgeapi.GenerateResponse
		if err != nil || status != 200 || json.Unmarshal(b, &g) != nil {
			a.Shared.Server = "(the edge could not generate: " + apiError(status, b, err) + ")"
			return
		}
		a.Shared.Server = g.Text
	})
}
