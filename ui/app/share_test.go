package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/edge/edgeapi"
	"github.com/lora-playground/lora-playground/wasm/protocol"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestShareLink(t *testing.T) {
	for _, tc := range []struct{ page, hash, want string }{
		{"http://127.0.0.1:8787/", "", "http://127.0.0.1:8787/#adapter=" + testID},
		{"http://127.0.0.1:8787/", "model=nano&r=4", "http://127.0.0.1:8787/#model=nano&r=4&adapter=" + testID},
		{"http://h/p/", "#r=4", "http://h/p/#r=4&adapter=" + testID},
		// an old adapter in the hash or a fragment on the page URL is replaced
		{"http://h/#x=1", "r=4&adapter=ffff&task=e2e", "http://h/#r=4&task=e2e&adapter=" + testID},
	} {
		if got := ShareLink(tc.page, tc.hash, testID); got != tc.want {
			t.Errorf("ShareLink(%q, %q) = %q, want %q", tc.page, tc.hash, got, tc.want)
		}
	}
}

func TestAdapterFromHash(t *testing.T) {
	for hash, want := range map[string]string{
		"":                                   "",
		"#model=nano&r=4":                    "",
		"#model=nano&adapter=" + testID:      testID,
		"adapter=" + strings.ToUpper(testID): testID,
		"#adapter=../../etc":                 "",
		"#adapter=" + testID[:63]:            "",
		"#adapter=" + testID + "&r=2":        testID,
	} {
		if got := AdapterFromHash(hash); got != want {
			t.Errorf("AdapterFromHash(%q) = %q, want %q", hash, got, want)
		}
	}
	// The settings in a shared link still parse, and adapter= is not a problem.
	link := ShareLink("http://h/", "model=nano&r=4", testID)
	s, problems := state.Parse(link[strings.IndexByte(link, '#'):])
	if s.Rank != 4 || len(problems) != 0 {
		t.Errorf("state.Parse of a share link: r=%d, problems %v", s.Rank, problems)
	}
	if got := AdapterFromHash(link[strings.IndexByte(link, '#'):]); got != testID {
		t.Errorf("round trip: %q", got)
	}
}

// fakeNet answers requests from a table; calls are recorded.
type fakeNet struct {
	answers map[string]func(body []byte) (int, []byte)
	calls   []string
}

func (n *fakeNet) Fetch(method, url, ct string, body []byte, done func(int, []byte, error)) {
	n.calls = append(n.calls, method+" "+url)
	if f, ok := n.answers[method+" "+url]; ok {
		st, b := f(body)
		done(st, b, nil)
		return
	}
	done(404, []byte("404 page not found\n"), nil) // a plain static server
}
func (n *fakeNet) PageURL() string { return "http://127.0.0.1:8787/" }

func TestShareWithoutEdge(t *testing.T) {
	a, _, sent, _ := newTestApp(state.Default())
	n := &fakeNet{}
	a.Net = n
	a.Share()
	if a.Shared.Message != NeedsEdge || a.Shared.Busy || a.Shared.Link != "" {
		t.Errorf("without the edge: %+v", a.Shared)
	}
	if len(*sent) != 0 {
		t.Errorf("sent %v to the worker", *sent)
	}
	if !strings.Contains(render(t, a), "./build.sh edge") {
		t.Error("the page does not say how to start the edge")
	}
	a.Net = nil
	a.Share()
	if a.Shared.Message != NeedsEdge {
		t.Errorf("no Net: %q", a.Shared.Message)
	}
}

func TestShareUploadsAndLinks(t *testing.T) {
	s := state.Default()
	a, c, sent, h := newTestApp(s)
	var uploaded []byte
	var gen edgeapi.GenerateRequest
	n := &fakeNet{answers: map[string]func([]byte) (int, []byte){
		"GET api/health": func([]byte) (int, []byte) { return 200, []byte(`{"ok":true}`) },
		"POST api/adapters": func(b []byte) (int, []byte) {
			uploaded = b
			return 201, []byte(`{"id":"` + testID + `","created":true}`)
		},
		"POST api/generate": func(b []byte) (int, []byte) {
			json.Unmarshal(b, &gen)
			return 200, []byte(`{"text":"served text"}`)
		},
	}}
	a.Net = n
	// Not trained yet: the edge is there, but there is nothing to share.
	a.Share()
	if !strings.Contains(a.Shared.Message, "train a LoRA run first") {
		t.Fatalf("untrained: %q", a.Shared.Message)
	}
	a.TogglePlay()
	a.Share()
	last := (*sent)[len(*sent)-1]
	if last.Type != protocol.TypeExport {
		t.Fatalf("last request %s, want export", last.Type)
	}
	c.Handle(protocol.Message{V: 1, Re: last.ID, Type: protocol.TypeExport, Export: &protocol.Export{FileName: "a.zip"}, Data: []byte("PKzip")})
	if string(uploaded) != "PKzip" || len(h.downloads) != 0 {
		t.Errorf("uploaded %q, downloads %v", uploaded, h.downloads)
	}
	want := ShareLink("http://127.0.0.1:8787/", a.State.Hash(), testID)
	if a.Shared.Link != want || a.Shared.Busy || a.Shared.ID != testID {
		t.Errorf("after upload: %+v, want link %q", a.Shared, want)
	}
	if !strings.Contains(render(t, a), `data-testid="share-link"`) {
		t.Error("no link on the page")
	}
	// Generate asks the edge for the same prompt and seed.
	a.Sample.Prompt, a.Sample.Seed = "hello", 7
	a.Generate()
	if gen.Adapter != testID || gen.Prompt != "hello" || gen.Seed != 7 || a.Shared.Server != "served text" {
		t.Errorf("server sample: %+v → %q", gen, a.Shared.Server)
	}
	// A plain Export still downloads.
	a.Export()
	last = (*sent)[len(*sent)-1]
	c.Handle(protocol.Message{V: 1, Re: last.ID, Type: protocol.TypeExport, Export: &protocol.Export{FileName: "a.zip"}, Data: []byte("PK")})
	if len(h.downloads) != 1 {
		t.Errorf("export after share: downloads %v", h.downloads)
	}
}

func TestLoadShared(t *testing.T) {
	a, _, sent, _ := newTestApp(state.Default())
	a.Net = &fakeNet{answers: map[string]func([]byte) (int, []byte){
		"GET api/adapters/" + testID: func([]byte) (int, []byte) { return 200, []byte("PKshared") },
	}}
	a.LoadShared(testID)
	last := (*sent)[len(*sent)-1]
	if last.Type != protocol.TypeImport || string(last.Data) != "PKshared" || a.Shared.ID != testID {
		t.Errorf("import: %s %q, shared %+v", last.Type, last.Data, a.Shared)
	}
	// Without the edge, the link's adapter cannot be fetched: say why.
	b, _, _, _ := newTestApp(state.Default())
	b.Net = &fakeNet{}
	b.LoadShared(testID)
	if !strings.Contains(b.Error, "./build.sh edge") || b.Shared.ID != "" {
		t.Errorf("without the edge: %q %+v", b.Error, b.Shared)
	}
}
