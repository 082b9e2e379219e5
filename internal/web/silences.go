package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// silenceStore is what the silences views need from the store.
type silenceStore interface {
	CreateSilence(ctx context.Context, s store.Silence) (store.Silence, error)
	ListSilences(ctx context.Context, f store.SilenceFilter) ([]store.Silence, error)
	ExpireSilence(ctx context.Context, id int64, now time.Time) (store.Silence, error)
}

var errNoSilences = errors.New("this store does not keep silences")

func (s *Server) silences() (silenceStore, error) {
	ss, ok := s.st.(silenceStore)
	if !ok {
		return nil, errNoSilences
	}
	return ss, nil
}

// SilenceJSON is a silence in the API, with whether it is active now.
type SilenceJSON struct {
	store.Silence
	State string `json:"state"` // active, pending or expired
}

func (s *Server) silenceJSON(sil store.Silence) SilenceJSON {
	now := s.now()
	st := "expired"
	switch {
	case sil.ActiveAt(now):
		st = "active"
	case now.Before(sil.StartsAt):
		st = "pending"
	}
	if sil.Matchers == nil {
		sil.Matchers = []store.SilenceMatcher{}
	}
	return SilenceJSON{Silence: sil, State: st}
}

// SilenceRequest is the body of POST /api/v1/silences.
type SilenceRequest struct {
	Matchers []store.SilenceMatcher `json:"matchers"`
	// StartsAt defaults to now; EndsAt or Duration ("2h", "1d") set the end.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Duration string     `json:"duration,omitempty"`
	Comment  string     `json:"comment"`
}

// maxSilence is the longest silence accepted.
const maxSilence = 90 * 24 * time.Hour

func (s *Server) createSilence(ctx context.Context, req SilenceRequest, by string) (store.Silence, error) {
	ss, err := s.silences()
	if err != nil {
		return store.Silence{}, err
	}
	now := s.now().UTC()
	if len(req.Matchers) == 0 {
		return store.Silence{}, badf("a silence needs at least one matcher")
	}
	for i, m := range req.Matchers {
		if m.Op == "" {
			req.Matchers[i].Op = store.MatchEqual
			m.Op = store.MatchEqual
		}
		if err := m.Validate(); err != nil {
			return store.Silence{}, badf("matcher %d: %v", i+1, err)
		}
	}
	if strings.TrimSpace(req.Comment) == "" {
		return store.Silence{}, badf("say why in the comment (who is working on it, ticket)")
	}
	if len(req.Comment) > 1000 {
		return store.Silence{}, badf("comment is longer than 1000 characters")
	}
	sil := store.Silence{Matchers: req.Matchers, StartsAt: now, CreatedBy: by, Comment: strings.TrimSpace(req.Comment), CreatedAt: now}
	if req.StartsAt != nil {
		sil.StartsAt = req.StartsAt.UTC()
	}
	switch {
	case req.EndsAt != nil:
		sil.EndsAt = req.EndsAt.UTC()
	case req.Duration != "":
		d, err := parseRange(req.Duration)
		if err != nil {
			return store.Silence{}, err
		}
		sil.EndsAt = sil.StartsAt.Add(d)
	default:
		return store.Silence{}, badf("give ends_at or a duration (e.g. 2h)")
	}
	if !sil.EndsAt.After(sil.StartsAt) {
		return store.Silence{}, badf("the silence must end after it starts")
	}
	if sil.EndsAt.Sub(sil.StartsAt) > maxSilence {
		return store.Silence{}, badf("a silence may last at most 90 days")
	}
	if !sil.EndsAt.After(now) {
		return store.Silence{}, badf("the silence would already be over")
	}
	if err := store.ValidateSilence(sil); err != nil {
		return store.Silence{}, badf("%v", err)
	}
	created, err := ss.CreateSilence(ctx, sil)
	if err != nil {
		return store.Silence{}, err
	}
	s.log.Info("silence created", "id", created.ID, "by", by, "matchers", len(created.Matchers), "ends", created.EndsAt)
	return created, nil
}

// SilencesJSON is GET /api/v1/silences.
type SilencesJSON struct {
	Silences []SilenceJSON `json:"silences"`
	Count    int           `json:"count"`
}

func (s *Server) listSilences(ctx context.Context, activeOnly bool) ([]SilenceJSON, error) {
	ss, err := s.silences()
	if err != nil {
		return nil, err
	}
	f := store.SilenceFilter{Limit: 500}
	if activeOnly {
		f.ActiveAt = s.now()
	}
	list, err := ss.ListSilences(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]SilenceJSON, len(list))
	for i, sil := range list {
		out[i] = s.silenceJSON(sil)
	}
	return out, nil
}

func (s *Server) apiSilences(w http.ResponseWriter, r *http.Request) {
	active := false
	switch r.URL.Query().Get("active") {
	case "", "false", "0":
	case "true", "1":
		active = true
	default:
		s.apiFail(w, r, "list silences", badf("active must be true or false"))
		return
	}
	list, err := s.listSilences(r.Context(), active)
	if err != nil {
		s.apiFail(w, r, "list silences", err)
		return
	}
	writeJSON(w, http.StatusOK, SilencesJSON{Silences: list, Count: len(list)})
}

func (s *Server) apiCreateSilence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.apiFail(w, r, "create silence", badf("invalid silence JSON: %v", err))
		return
	}
	sil, err := s.createSilence(r.Context(), req, whoami(r).Name)
	if err != nil {
		s.apiFail(w, r, "create silence", err)
		return
	}
	writeJSON(w, http.StatusCreated, s.silenceJSON(sil))
}

func (s *Server) apiExpireSilence(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.apiFail(w, r, "expire silence", err)
		return
	}
	ss, err := s.silences()
	if err != nil {
		s.apiFail(w, r, "expire silence", err)
		return
	}
	sil, err := ss.ExpireSilence(r.Context(), id, s.now())
	if err != nil {
		s.apiFail(w, r, "expire silence", err)
		return
	}
	s.log.Info("silence expired", "id", id, "by", whoami(r).Name)
	writeJSON(w, http.StatusOK, s.silenceJSON(sil))
}
