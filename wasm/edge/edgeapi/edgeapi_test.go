package edgeapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestWireNames pins the JSON field names: the worker and the page are
// built separately, and a renamed field would fail silently.
func TestWireNames(t *testing.T) {
	n, temp := 3, 0.5
	for _, tc := range []struct {
		v    any
		want string
	}{
		{Error{"not_found", "no adapter"}, `{"error":"not_found","message":"no adapter"}`},
		{Upload{ID: "x", Created: true, Base: "b", URL: "u", ConfigURL: "c"}, `{"id":"x","created":true,"base":"b","url":"u","config_url":"c"}`},
		{GenerateRequest{Prompt: "p"}, `{"prompt":"p","seed":0}`},
		{GenerateRequest{Base: "nano", Adapter: "a", Prompt: "p", MaxTokens: &n, Temperature: &temp, Seed: 9},
			`{"base":"nano","adapter":"a","prompt":"p","max_tokens":3,"temperature":0.5,"seed":9}`},
		{GenerateResponse{Base: "b", Prompt: "p", Text: "t", Tokens: 1, Seed: 2, Millis: 5},
			`{"base":"b","prompt":"p","text":"t","tokens":1,"temperature":0,"seed":2,"ms":5}`},
		{Metadata{ID: "i", Base: "b", R: 4, LoraAlpha: 8, TargetModules: []string{"q_proj"}, Modules: 2, Parameters: 10, Bytes: 99,
			Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), AdapterConfig: json.RawMessage(`{"r":4}`)},
			`{"id":"i","base":"b","r":4,"lora_alpha":8,"use_rslora":false,"target_modules":["q_proj"],"modules":2,"parameters":10,"bytes":99,"created":"2025-01-02T03:04:05Z","adapter_config":{"r":4}}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T:\n got %s (%v)\nwant %s", tc.v, b, err, tc.want)
		}
	}
}

func TestPathsAndIDs(t *testing.T) {
	id := strings.Repeat("0a", 32)
	if !ValidID(id) || AdapterPath(id) != "/api/adapters/"+id || ConfigPath(id) != "/api/adapters/"+id+"/config" {
		t.Errorf("paths of %s: %s %s", id, AdapterPath(id), ConfigPath(id))
	}
	for _, bad := range []string{"", id[:63], id + "0", strings.ToUpper(id), strings.Repeat("g", 64), "../" + id[3:],
		id[:63] + "/", id[:63] + ":", id[:63] + "`", id[:63] + "g", id[:63] + "\n", id[:62] + "é"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}
