package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scenario is a timeline of faults, read from YAML:
//
//   - at: 2m            # after the simulator starts (simulated time)
//     for: 5m           # omit: until cleared
//     fault: rest_throttle
//     target: rest      # see Fault.Target
//     mid: 510000001    # omit: every tenant
//     count: 3          # request faults: only the first 3 requests
//     params: {retry_after: 10}
type Scenario struct {
	Entries []ScenarioEntry
}

// ScenarioEntry is one line of the timeline with its source line.
type ScenarioEntry struct {
	FaultSpec
	Line int
}

// ParseScenario reads a scenario. Errors name the file line and key.
func ParseScenario(r io.Reader) (*Scenario, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &Scenario{}, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("scenario: line %d: expected a list of faults (- at: 1m, fault: rest_throttle, ...)", doc.Line)
	}
	var specs []FaultSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("scenario: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	sc := &Scenario{}
	for i, item := range doc.Content {
		if i >= len(specs) {
			break
		}
		e := ScenarioEntry{FaultSpec: specs[i], Line: item.Line}
		if err := validateEntry(e, item); err != nil {
			return nil, err
		}
		sc.Entries = append(sc.Entries, e)
	}
	return sc, nil
}

// validateEntry checks one entry and reports the line of the bad key.
func validateEntry(e ScenarioEntry, item *yaml.Node) error {
	keyLine := func(key string) int {
		for i := 0; i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == key {
				return item.Content[i+1].Line
			}
		}
		return item.Line
	}
	if e.Fault == "" {
		return fmt.Errorf("scenario: line %d: missing key \"fault\" (known: %s)", item.Line, joinKinds())
	}
	if !e.Fault.Valid() {
		return fmt.Errorf("scenario: line %d: key \"fault\": unknown fault kind %q (known: %s)", keyLine("fault"), e.Fault, joinKinds())
	}
	for _, k := range []string{"at", "for"} {
		v := e.At
		if k == "for" {
			v = e.For
		}
		if v == "" {
			continue
		}
		d, err := parseDur(v)
		if err != nil {
			return fmt.Errorf("scenario: line %d: key %q: %w", keyLine(k), k, err)
		}
		if d < 0 || (k == "for" && d == 0) {
			return fmt.Errorf("scenario: line %d: key %q: must be positive, got %q", keyLine(k), k, v)
		}
	}
	if e.Count < 0 {
		return fmt.Errorf("scenario: line %d: key \"count\": must not be negative", keyLine("count"))
	}
	for k, v := range e.Params {
		switch v.(type) {
		case map[string]any, []any:
			return fmt.Errorf("scenario: line %d: key \"params.%s\": must be a scalar", keyLine("params"), k)
		}
	}
	return nil
}

// LoadScenario reads a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	sc, err := ParseScenario(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// Apply injects every entry, with at relative to the simulator's start. It
// returns the fault ids in file order.
func (s *Sim) Apply(sc *Scenario) ([]string, error) {
	var ids []string
	var errs []error
	for _, e := range sc.Entries {
		f, err := e.toFault(s.clock.Start())
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario line %d: %w", e.Line, err))
			continue
		}
		id, err := s.InjectErr(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario line %d: %w", e.Line, err))
			continue
		}
		ids = append(ids, id)
	}
	return ids, errors.Join(errs...)
}
