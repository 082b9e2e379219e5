package config

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// maxNodes bounds the work of one decode (alias expansion can multiply the
// nodes of a small document).
const (
	maxNodes = 1_000_000
	maxDepth = 64
)

type position struct{ line, col int }

// decoder walks a yaml.Node tree into Go values, recording the position of
// every key path and collecting every problem instead of stopping at the
// first.
type decoder struct {
	file     string
	dir      string
	env      func(string) (string, bool)
	readFile func(string) ([]byte, error)

	root     *Config
	pos      map[string]position
	failed   map[string]bool // paths with an error already reported
	problems []Problem
	warnings []Problem
	nodes    int
	fields   map[reflect.Type][]fieldInfo
}

type fieldInfo struct {
	name  string
	index []int
	url   bool
}

func (d *decoder) problem(list *[]Problem, n *yaml.Node, path, format string, args ...any) {
	p := Problem{File: d.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	} else if at, ok := d.lookup(path); ok {
		p.Line, p.Column = at.line, at.col
	}
	*list = append(*list, p)
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	d.problem(&d.problems, n, path, format, args...)
}

// lookup returns the recorded position of path or of its nearest ancestor.
func (d *decoder) lookup(path string) (position, bool) {
	for path != "" {
		if p, ok := d.pos[path]; ok {
			return p, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return position{}, false
}

func (d *decoder) fieldsOf(t reflect.Type) []fieldInfo {
	if fs, ok := d.fields[t]; ok {
		return fs
	}
	var fs []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && strings.Contains(opts, "inline") {
			for _, sub := range d.fieldsOf(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				fs = append(fs, sub)
			}
			continue
		}
		fs = append(fs, fieldInfo{name: name, index: []int{i}, url: f.Tag.Get("config") == "url"})
	}
	d.fields[t] = fs
	return fs
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// deref follows aliases; ok is false when the chain is too deep.
func (d *decoder) deref(n *yaml.Node) (*yaml.Node, bool) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxDepth {
			return n, false
		}
		n = n.Alias
	}
	return n, true
}

// decode sets v from n. url marks a string field where ${ENV} is expanded.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, url bool, depth int) {
	n, ok := d.deref(n)
	if !ok || depth > maxDepth {
		d.errorf(n, path, "nesting or aliases too deep")
		return
	}
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n, path, "document too large (more than %d nodes after alias expansion)", maxNodes)
		}
		return
	}
	t := v.Type()
	switch {
	case t == reflect.TypeFor[Secret]():
		if s, ok := d.scalar(n, path, "a string"); ok {
			if s, ok = d.expand(n, path, s); ok {
				v.SetString(s)
			}
		}
		return
	case t == reflect.TypeFor[Duration]():
		if s, ok := d.text(n, path, "a duration"); ok {
			if x, err := ParseDuration(s); err != nil {
				d.errorf(n, path, "%v", err)
			} else {
				v.SetInt(int64(x))
			}
		}
		return
	case t == reflect.TypeFor[Size]():
		if s, ok := d.text(n, path, "a size"); ok {
			if x, err := ParseSize(s); err != nil {
				d.errorf(n, path, "%v", err)
			} else {
				v.SetInt(int64(x))
			}
		}
		return
	case t == reflect.TypeFor[Ratio]():
		if s, ok := d.text(n, path, "a ratio"); ok {
			if x, err := ParseRatio(s); err != nil {
				d.errorf(n, path, "%v", err)
			} else {
				v.SetFloat(float64(x))
			}
		}
		return
	case t == reflect.TypeFor[catalog.Severity]():
		if s, ok := d.text(n, path, "a severity"); ok {
			if x, err := catalog.ParseSeverity(s); err != nil {
				d.errorf(n, path, "%v", err)
			} else {
				v.SetString(string(x))
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := d.scalar(n, path, "a string")
		if !ok {
			return
		}
		if url {
			s, ok = d.expand(n, path, s)
		} else {
			s, ok = d.literal(n, path, s)
		}
		if ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.text(n, path, "true or false"); ok {
			switch strings.ToLower(s) {
			case "true":
				v.SetBool(true)
			case "false":
				v.SetBool(false)
			default:
				d.errorf(n, path, "expected true or false, got %q", s)
			}
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.text(n, path, "an integer"); ok {
			x, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
			if err != nil || (t.Kind() == reflect.Int && v.OverflowInt(x)) {
				d.errorf(n, path, "expected an integer, got %q", s)
				return
			}
			v.SetInt(x)
		}
	case reflect.Float64:
		if s, ok := d.text(n, path, "a number"); ok {
			x, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				d.errorf(n, path, "expected a number, got %q", s)
				return
			}
			v.SetFloat(x)
		}
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), path, url, depth+1)
		v.Set(e)
	case reflect.Slice:
		d.decodeSlice(n, v, path, url, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	default:
		d.errorf(n, path, "unsupported field type %s", t)
	}
}

// text is scalar for fields without ${ENV} expansion.
func (d *decoder) text(n *yaml.Node, path, want string) (string, bool) {
	s, ok := d.scalar(n, path, want)
	if !ok {
		return "", false
	}
	return d.literal(n, path, s)
}

// scalar returns the text of a scalar node; null counts as not set.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", false
	}
	return n.Value, true
}

func (d *decoder) newElem(t reflect.Type) reflect.Value {
	e := reflect.New(t).Elem()
	switch t {
	case reflect.TypeFor[Tenant]():
		e.Set(reflect.ValueOf(defaultTenant(d.root.Monitors)))
	case reflect.TypeFor[IngestSource]():
		e.Set(reflect.ValueOf(defaultIngestSource()))
	}
	return e
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, url bool, depth int) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list, got %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.pos[p] = position{item.Line, item.Column}
		e := d.newElem(v.Type().Elem())
		d.decode(item, e, p, url, depth+1)
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

func mapKeyPath(path, key string) string {
	return fmt.Sprintf("%s[%s]", path, strconv.Quote(key))
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	out := reflect.MakeMap(v.Type())
	seen := map[string]bool{}
	for _, kv := range d.pairs(n, path, depth) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(k, path, "keys must be strings, got %s", kindName(k))
			continue
		}
		p := mapKeyPath(path, k.Value)
		if seen[k.Value] {
			d.errorf(k, p, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.pos[p] = position{k.Line, k.Column}
		e := d.newElem(v.Type().Elem())
		d.decode(val, e, p, false, depth+1)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	v.Set(out)
}

// pairs returns the key/value pairs of a mapping with YAML merge keys ("<<")
// expanded; the mapping's own keys override merged ones.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			src, ok := d.deref(val)
			if !ok || depth > maxDepth {
				d.errorf(k, path, "merge nesting too deep")
				continue
			}
			var maps []*yaml.Node
			switch src.Kind {
			case yaml.MappingNode:
				maps = []*yaml.Node{src}
			case yaml.SequenceNode:
				for _, m := range src.Content {
					if m, ok := d.deref(m); ok && m.Kind == yaml.MappingNode {
						maps = append(maps, m)
					} else {
						d.errorf(m, path, "merge (<<) needs mappings")
					}
				}
			default:
				d.errorf(k, path, "merge (<<) needs a mapping or a list of mappings")
			}
			for _, m := range maps {
				merged = append(merged, d.pairs(m, path, depth+1)...)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, val})
	}
	if len(merged) == 0 {
		return own
	}
	ownKeys := map[string]bool{}
	for _, kv := range own {
		ownKeys[kv[0].Value] = true
	}
	out := own
	for _, kv := range merged {
		if !ownKeys[kv[0].Value] {
			ownKeys[kv[0].Value] = true
			out = append(out, kv)
		}
	}
	return out
}

type structItem struct {
	field    int
	name     string
	key, val *yaml.Node
	file     bool
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	fields := d.fieldsOf(v.Type())
	byName := map[string]int{}
	var known []string
	for i, f := range fields {
		byName[f.name] = i
		known = append(known, f.name)
		if v.FieldByIndex(f.index).Type() == reflect.TypeFor[Secret]() {
			known = append(known, f.name+"_file")
		}
	}
	seen := map[string]*yaml.Node{}
	var items []structItem
	for _, kv := range d.pairs(n, path, depth) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be strings, got %s", kindName(k))
			continue
		}
		name := k.Value
		if seen[name] != nil {
			d.errorf(k, joinPath(path, name), "duplicate key (first set on line %d)", seen[name].Line)
			continue
		}
		seen[name] = k
		if i, ok := byName[name]; ok {
			items = append(items, structItem{field: i, name: name, key: k, val: val})
			continue
		}
		if base, ok := strings.CutSuffix(name, "_file"); ok {
			if i, ok := byName[base]; ok && v.FieldByIndex(fields[i].index).Type() == reflect.TypeFor[Secret]() {
				items = append(items, structItem{field: i, name: name, key: k, val: val, file: true})
				continue
			}
		}
		d.errorf(k, joinPath(path, name), "%s", unknownKey(name, known))
	}
	// Decode in struct order (monitors before tenants, which inherit them).
	slices.SortStableFunc(items, func(a, b structItem) int { return a.field - b.field })
	for _, it := range items {
		p := joinPath(path, it.name)
		d.pos[p] = position{it.key.Line, it.key.Column}
		f := fields[it.field]
		fv := v.FieldByIndex(f.index)
		if !it.file {
			d.decode(it.val, fv, p, f.url, depth+1)
			continue
		}
		if seen[f.name] != nil {
			d.errorf(it.key, p, "set either %s or %s, not both", f.name, it.name)
			continue
		}
		d.decodeSecretFile(it.val, fv, p)
	}
}

func (d *decoder) decodeSecretFile(n *yaml.Node, v reflect.Value, path string) {
	n, _ = d.deref(n)
	name, ok := d.scalar(n, path, "a file name")
	if !ok {
		return
	}
	if name, ok = d.literal(n, path, name); !ok {
		return
	}
	if name == "" {
		d.errorf(n, path, "empty file name")
		return
	}
	p := d.resolve(name)
	data, err := d.readFile(p)
	if err != nil {
		d.errorf(n, path, "cannot read secret file: %v", err)
		return
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		d.errorf(n, path, "secret file %s is empty", p)
		return
	}
	v.SetString(s)
}

// resolve makes a relative file name relative to the config file's directory.
func (d *decoder) resolve(name string) string {
	if name == "" || filepath.IsAbs(name) || d.dir == "" {
		return name
	}
	return filepath.Join(d.dir, name)
}

const envOnlyMsg = "environment references (${%s}) are only expanded in secret and URL fields"

// expand replaces ${NAME} with the environment variable NAME; "$${" stands
// for a literal "${". A missing variable is an error naming it.
func (d *decoder) expand(n *yaml.Node, path, s string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	ok := true
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				d.errorf(n, path, "unterminated ${ (write $${ for a literal ${)")
				return "", false
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				d.errorf(n, path, "invalid environment variable name in ${...} (write $${ for a literal ${)")
				return "", false
			}
			val, found := d.env(name)
			if !found {
				d.errorf(n, path, "environment variable %s is not set", name)
				ok = false
			}
			b.WriteString(val)
			i += 3 + end
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), ok
}

// literal rejects ${NAME} outside secret and URL fields.
func (d *decoder) literal(n *yaml.Node, path, s string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			name := s[i+2:]
			if end := strings.IndexByte(name, '}'); end >= 0 {
				name = name[:end]
			}
			if !validEnvName(name) {
				name = "..."
			}
			d.errorf(n, path, envOnlyMsg, name)
			return "", false
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), true
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// unknownKey explains an unknown key, suggesting the closest known one.
func unknownKey(name string, known []string) string {
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", name, s)
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown key %q (this block takes no keys yet)", name)
	}
	return fmt.Sprintf("unknown key %q (valid keys: %s)", name, strings.Join(known, ", "))
}

// suggest returns the known key closest to name when it is close enough.
func suggest(name string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestDist := "", math.MaxInt
	for _, k := range known {
		dist := editDistance(norm(name), norm(k))
		if dist < bestDist {
			best, bestDist = k, dist
		}
	}
	limit := max(2, len(name)/4)
	if bestDist <= limit && bestDist < len(name) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus
// adjacent transpositions).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
