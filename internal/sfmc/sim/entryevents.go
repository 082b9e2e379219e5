package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Journey entry events fired through the API, in the shape of SFMC's
// POST /interaction/v1/events (developer.salesforce.com, Journey Builder
// REST reference, "POST /interaction/v1/events"): the request is
// {"ContactKey", "EventDefinitionKey", "Data"}; with no errors the answer
// is HTTP 201 with {"eventInstanceId": "<GUID>"}; an event definition key
// that is not found, or a request without ContactKey or
// EventDefinitionKey, is HTTP 400. The call needs the journeys_execute
// scope. An accepted event enters the contact into the journey whose entry
// event has that key when the journey is published (not stopped or
// paused) and no journey_events_dropped fault covers it; otherwise the
// answer is the same 201 and nobody enters: what send.silent_failure
// looks for.

// entryStore holds, per business unit and journey key, the simulated times
// contacts entered through API events, oldest first.
type entryStore struct {
	mu sync.Mutex
	by map[string][]time.Time
}

// maxEntries bounds the entries kept per journey (older ones are folded
// into a base count so the population stays cumulative).
const maxEntries = 200000

func entryKey(mid int64, journeyKey string) string {
	return fmt.Sprintf("%d/%s", mid, strings.ToLower(journeyKey))
}

func (es *entryStore) add(mid int64, journeyKey string, at time.Time) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.by == nil {
		es.by = map[string][]time.Time{}
	}
	k := entryKey(mid, journeyKey)
	l := es.by[k]
	i := sort.Search(len(l), func(i int) bool { return l[i].After(at) })
	es.by[k] = slices.Insert(l, i, at)
	if len(es.by[k]) > maxEntries {
		// Keep the newest; the population of older times is no longer
		// exact, which no reader of the simulator looks that far back for.
		es.by[k] = es.by[k][len(es.by[k])-maxEntries:]
	}
}

// count is the number of contacts that entered the journey through API
// events at or before at.
func (es *entryStore) count(mid int64, journeyKey string, at time.Time) int64 {
	es.mu.Lock()
	defer es.mu.Unlock()
	l := es.by[entryKey(mid, journeyKey)]
	return int64(sort.Search(len(l), func(i int) bool { return l[i].After(at) }))
}

// EntryEvent is a journey's API entry event.
type EntryEvent struct {
	JourneyKey         string `json:"journey_key"`
	EventDefinitionKey string `json:"event_definition_key"`
	// Status is the journey's status at the simulated now.
	Status string `json:"status"`
}

// EntryEvents lists the entry events of the business unit's journeys, by
// journey key.
func (s *Sim) EntryEvents(mid int64) []EntryEvent {
	t := s.tenants[mid]
	if t == nil {
		return nil
	}
	now := s.clock.Now()
	var out []EntryEvent
	for _, j := range t.Journeys {
		if j.EventDefKey == "" {
			continue
		}
		out = append(out, EntryEvent{JourneyKey: j.Key, EventDefinitionKey: j.EventDefKey, Status: s.journeyStatus(t, j, now)})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].JourneyKey < out[b].JourneyKey })
	return out
}

// POST /interaction/v1/events
func (s *Sim) handleEntryEvent(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	var req struct {
		ContactKey         string         `json:"ContactKey"`
		EventDefinitionKey string         `json:"EventDefinitionKey"`
		Data               map[string]any `json:"Data"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &req); err != nil {
		restError(w, http.StatusBadRequest, 10000, "Invalid JSON in request body.")
		return
	}
	if req.ContactKey == "" || req.EventDefinitionKey == "" {
		restError(w, http.StatusBadRequest, 10000, "ContactKey and EventDefinitionKey are required.")
		return
	}
	var j *journey
	for _, x := range t.Journeys {
		if x.EventDefKey != "" && strings.EqualFold(x.EventDefKey, req.EventDefinitionKey) {
			j = x
			break
		}
	}
	if j == nil {
		restError(w, http.StatusBadRequest, 30000, "Event definition key not found: "+req.EventDefinitionKey)
		return
	}
	dropped := activeIn(s.faults.windows(FaultJourneyEventsDropped, t.MID, j.Key, j.Name, j.ID), now) != nil
	if !dropped && s.journeyStatus(t, j, now) == "Published" && !now.Before(j.Published) {
		s.entries.add(t.MID, j.Key, now)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "event/%d/%s/%s/%d", t.MID, j.Key, req.ContactKey, now.UnixNano()))
	id := hex.EncodeToString(h[:16])
	writeJSON(w, http.StatusCreated, map[string]string{
		"eventInstanceId": id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]})
}

// packageStore holds installed packages other than the monitor's: the
// customer's own integrations, each with its client id, secret and scopes.
type packageStore struct {
	mu sync.Mutex
	by map[string]pkg // client id → package
}

type pkg struct {
	name, secret string
	scopes       []string
}

func (ps *packageStore) lookup(clientID string) (pkg, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.by[clientID]
	return p, ok
}

// integrationScopes are the scopes of an integration's package (AddPackage):
// the monitor's reads plus what integrations call to send and to fire
// entry events.
var integrationScopes = append(slices.Clone(packageScopes), "journeys_execute", "email_send")

// AddPackage installs another package (a customer integration's) with the
// given name, enabled for every business unit of the simulator, and
// returns its credentials; the same name gives the same credentials. Its
// tokens carry integrationScopes.
func (s *Sim) AddPackage(name string) Credentials {
	h := fnv.New64a()
	h.Write([]byte(name))
	n := h.Sum64()
	c := s.Credentials()
	c.ClientID = fmt.Sprintf("simapp%018x", mix(uint64(s.opts.Seed), n))[:24]
	c.ClientSecret = fmt.Sprintf("simappsecret%016x%016x", mix(n, 2), mix(n, 3))
	s.packages.mu.Lock()
	defer s.packages.mu.Unlock()
	if s.packages.by == nil {
		s.packages.by = map[string]pkg{}
	}
	s.packages.by[c.ClientID] = pkg{name: name, secret: c.ClientSecret, scopes: integrationScopes}
	return c
}
