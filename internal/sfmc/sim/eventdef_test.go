package sim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

func TestEventDefinitionShape(t *testing.T) {
	h := newHarness(t, Options{})
	mid := h.sim.MIDs()[0]
	var j *journey
	for _, x := range h.sim.tenants[mid].Journeys {
		if x.EntryDE != nil {
			j = x
			break
		}
	}
	if j == nil {
		t.Fatal("no journey with an entry data extension in the small tenant")
	}
	code, v := h.getJSON("/interaction/v1/eventDefinitions/key:" + j.EventDefKey)
	if code != 200 {
		t.Fatalf("status %d: %v", code, v)
	}
	got := v.(map[string]any)
	if got["dataExtensionName"] != j.EntryDE.Name || got["dataExtensionId"] != j.EntryDE.ObjectID || got["eventDefinitionKey"] != j.EventDefKey {
		t.Errorf("entry source %v does not name journey %s's DE %s", got, j.Name, j.EntryDE.Name)
	}
	// Same id lookup.
	if code, _ := h.getJSON("/interaction/v1/eventDefinitions/" + j.EventDefID); code != 200 {
		t.Errorf("by id: %d", code)
	}
	if resp, _ := h.get("/interaction/v1/eventDefinitions/key:nope"); resp.StatusCode != 404 {
		t.Errorf("unknown key: %d", resp.StatusCode)
	}

	// Every key of the recorded response is present, with the same JSON type.
	b, err := os.ReadFile(filepath.Join(sharedfixtures.Fixtures(t), "journey", "eventdefinition-deaudience.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		gv, ok := got[k]
		if !ok {
			t.Errorf("key %q missing", k)
			continue
		}
		if jsonType(gv) != jsonType(want[k]) {
			t.Errorf("key %q: %s, fixture has %s", k, jsonType(gv), jsonType(want[k]))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("key %q is not in the recorded response", k)
		}
	}
}
