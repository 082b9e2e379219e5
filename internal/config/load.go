package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	// Time zones validate the same on every host, with or without tzdata.
	_ "time/tzdata"
)

// Loader reads configs with injectable environment and file access (tests
// use fakes; the zero Loader uses the process environment and disk).
type Loader struct {
	// Env looks up ${NAME} references; nil means os.LookupEnv.
	Env func(name string) (string, bool)
	// ReadFile reads the config file and *_file secrets; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

// Load reads, decodes, defaults and validates the config file at path using
// the process environment. Invalid configs return an *Error listing every
// problem with file, line, column and key path.
func Load(path string) (*Config, error) { return Loader{}.Load(path) }

// Parse decodes, defaults and validates config text. name is used in
// messages and its directory anchors relative file names; env looks up
// ${NAME} references (nil: none are set).
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	return Loader{Env: env}.Parse(name, data)
}

// Load reads and parses the config file at path. Relative file names in it
// are resolved against the file's absolute directory.
func (l Loader) Load(path string) (*Config, error) {
	data, err := l.readFile()(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return l.parse(path, dir, data)
}

// Parse parses config text named name (relative file names resolve against
// filepath.Dir(name)).
func (l Loader) Parse(name string, data []byte) (*Config, error) {
	return l.parse(name, filepath.Dir(name), data)
}

func (l Loader) readFile() func(string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile
	}
	return os.ReadFile
}

func (l Loader) parse(name, dir string, data []byte) (*Config, error) {
	env := l.Env
	if env == nil {
		env = os.LookupEnv
	}
	cfg := Default()
	cfg.File = name
	d := &decoder{
		file: name, dir: dir, env: env, readFile: l.readFile(),
		root: cfg, pos: map[string]position{}, failed: map[string]bool{}, fields: map[reflect.Type][]fieldInfo{},
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []Problem{yamlProblem(name, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "", "only one YAML document is allowed")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(cfg).Elem(), "", false, 0)
	}
	d.validate(cfg)
	if len(d.problems) > 0 {
		return nil, &Error{Problems: sortProblems(d.problems)}
	}
	cfg.Warnings = sortProblems(d.warnings)
	return cfg, nil
}

func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return ps
}

// yamlProblem turns "yaml: line 5: did not find expected key" into a Problem.
func yamlProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Message: "invalid YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				p.Line, p.Message = n, "invalid YAML: "+text
			}
		}
	}
	return p
}
