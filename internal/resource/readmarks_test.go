package resource

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestDefinitionsReadAtIsAReadMark: the store keeps no history of the
// definition-list read times (store.ReadMarks), so a payload field
// DefinitionsReadAt must be spelled as one of those keys; otherwise
// every hourly list read adds a snapshot row per object again.
func TestDefinitionsReadAtIsAReadMark(t *testing.T) {
	for _, v := range []any{DataExtensionState{}, TriggeredSendState{}, TransactionalState{}, ImportState{}} {
		f, ok := reflect.TypeOf(v).FieldByName("DefinitionsReadAt")
		if !ok {
			t.Errorf("%T has no DefinitionsReadAt", v)
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !slices.Contains(store.ReadMarks, key) {
			t.Errorf("%T.DefinitionsReadAt is %q, not one of store.ReadMarks %q", v, key, store.ReadMarks)
		}
	}
}
