package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Dump writes the effective config (every default filled in) as YAML with
// secrets masked as "***".
func Dump(w io.Writer, cfg *Config) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("config dump: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config dump: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// DumpJSON writes the effective config as indented JSON with the same keys
// and key order as Dump, secrets masked.
func DumpJSON(w io.Writer, cfg *Config) error {
	var n yaml.Node
	if err := n.Encode(cfg); err != nil {
		return fmt.Errorf("config dump: %w", err)
	}
	var buf bytes.Buffer
	if err := nodeJSON(&buf, &n); err != nil {
		return fmt.Errorf("config dump: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return fmt.Errorf("config dump: %w", err)
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// nodeJSON writes a YAML node tree as JSON, keeping mapping key order.
func nodeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return nodeJSON(buf, n.Content[0])
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Quote(n.Content[i].Value))
			buf.WriteByte(':')
			if err := nodeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := nodeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
		case "!!bool", "!!int", "!!float":
			if json.Valid([]byte(n.Value)) {
				buf.WriteString(n.Value)
				return nil
			}
			fallthrough
		default:
			b, err := json.Marshal(n.Value)
			if err != nil {
				return err
			}
			buf.Write(b)
		}
	default:
		return fmt.Errorf("unexpected YAML node kind %d", n.Kind)
	}
	return nil
}
