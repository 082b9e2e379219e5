package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FaultSpec is the JSON (admin API) and YAML (scenario) form of a fault.
// At is relative: to the simulator's start in a scenario, to now in the
// admin API.
type FaultSpec struct {
	At     string         `json:"at,omitempty" yaml:"at"`
	For    string         `json:"for,omitempty" yaml:"for"`
	Fault  Kind           `json:"fault" yaml:"fault"`
	Kind   Kind           `json:"kind,omitempty" yaml:"-"`
	Target string         `json:"target,omitempty" yaml:"target"`
	MID    int64          `json:"mid,omitempty" yaml:"mid"`
	Count  int            `json:"count,omitempty" yaml:"count"`
	Params map[string]any `json:"params,omitempty" yaml:"params"`
}

// toFault converts the spec with at relative to base.
func (fs FaultSpec) toFault(base time.Time) (Fault, error) {
	k := fs.Fault
	if k == "" {
		k = fs.Kind
	}
	if k == "" {
		return Fault{}, fmt.Errorf("missing fault kind (known: %s)", joinKinds())
	}
	if !k.Valid() {
		return Fault{}, fmt.Errorf("unknown fault kind %q (known: %s)", k, joinKinds())
	}
	f := Fault{Kind: k, Target: fs.Target, MID: fs.MID, Count: fs.Count, Start: base}
	if fs.At != "" {
		d, err := parseDur(fs.At)
		if err != nil {
			return Fault{}, fmt.Errorf("at: %w", err)
		}
		f.Start = base.Add(d)
	}
	if fs.For != "" {
		d, err := parseDur(fs.For)
		if err != nil {
			return Fault{}, fmt.Errorf("for: %w", err)
		}
		if d <= 0 {
			return Fault{}, fmt.Errorf("for: must be positive, got %s", fs.For)
		}
		f.Duration = d
	}
	if len(fs.Params) > 0 {
		f.Params = map[string]string{}
		for key, v := range fs.Params {
			switch x := v.(type) {
			case string:
				f.Params[key] = x
			case nil:
				f.Params[key] = ""
			case map[string]any, []any:
				return Fault{}, fmt.Errorf("params.%s: must be a scalar", key)
			default:
				f.Params[key] = fmt.Sprint(x)
			}
		}
	}
	return f, nil
}

// parseDur accepts Go durations plus a "d" (days) suffix.
func parseDur(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days float64
		if _, err := fmt.Sscanf(n, "%g", &days); err == nil {
			return time.Duration(days * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 5m, 2h, 1d)", s)
	}
	return d, nil
}

// State is what GET /_sim/state returns.
type State struct {
	Now     time.Time     `json:"now"`
	Start   time.Time     `json:"start"`
	Speed   float64       `json:"speed"`
	Seed    int64         `json:"seed"`
	Tenants []TenantState `json:"tenants"`
	Faults  []FaultState  `json:"faults"`
	Stats   Stats         `json:"stats"`
}

// TenantState summarises one business unit.
type TenantState struct {
	MID  int64 `json:"mid"`
	Size Size  `json:"size"`
}

// State returns a snapshot of the simulator.
func (s *Sim) State() State {
	st := State{Now: s.clock.Now(), Start: s.clock.Start(), Speed: s.clock.Speed(), Seed: s.opts.Seed, Faults: s.Faults(), Stats: s.Stats()}
	for _, m := range s.mids {
		t := s.tenants[m]
		st.Tenants = append(st.Tenants, TenantState{MID: m, Size: Size{
			Automations: len(t.Automations), Journeys: len(t.Journeys), DataExtensions: len(t.DEs),
			TriggeredSends: len(t.TSDs), Transactional: len(t.TxDefs), Imports: len(t.Imports),
		}})
	}
	return st
}

func (s *Sim) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Faults []FaultState `json:"faults"`
			Kinds  []Kind       `json:"kinds"`
		}{s.Faults(), Kinds()})
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		var spec FaultSpec
		if err := dec.Decode(&spec); err != nil {
			adminError(w, http.StatusBadRequest, "invalid fault JSON: "+err.Error())
			return
		}
		f, err := spec.toFault(s.clock.Now())
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		id, err := s.InjectErr(f)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, struct {
			ID string `json:"id"`
		}{id})
	})
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.Clear(r.PathValue("id")) {
			adminError(w, http.StatusNotFound, "no fault "+r.PathValue("id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("DELETE /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			By string `json:"by"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
			adminError(w, http.StatusBadRequest, `body must be {"by":"1h"}`)
			return
		}
		d, err := parseDur(body.By)
		if err != nil || d <= 0 {
			adminError(w, http.StatusBadRequest, `"by" must be a positive duration such as 90s, 1h or 1d`)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Now time.Time `json:"now"`
		}{s.clock.Advance(d)})
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "admin routes: GET/POST /_sim/faults, DELETE /_sim/faults/{id}, GET /_sim/state, GET|DELETE /_sim/stats, POST /_sim/clock/advance")
	})
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
