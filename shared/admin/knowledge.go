package admin

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"wecom-crm-bot/shared/domain"
)

// LineError is one validation error of a knowledge file; Line is 0 when the
// error is not tied to a line.
type LineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// errLine matches the "name:line: " prefix bot.ParseKnowledge puts on errors.
var errLine = regexp.MustCompile(`^[^\s:]*:(\d+):\s*`)

// ValidationErrors splits a bot.ParseKnowledge error into line errors.
func ValidationErrors(err error) []LineError {
	if err == nil {
		return []LineError{}
	}
	var out []LineError
	for _, msg := range strings.Split(err.Error(), "\n") {
		msg = strings.TrimSpace(msg)
		if msg == "" {
			continue
		}
		le := LineError{Message: msg}
		if m := errLine.FindStringSubmatch(msg); m != nil {
			le.Line, _ = strconv.Atoi(m[1])
			le.Message = strings.TrimSpace(msg[len(m[0]):])
		}
		le.Message = strings.TrimSuffix(strings.TrimSuffix(le.Message, domain.ErrInvalid.Error()), ": ")
		out = append(out, le)
	}
	return out
}

// faqs returns the document's root mapping and its faq sequence (created
// when absent).
func faqs(doc *yaml.Node) (*yaml.Node, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("knowledge: top level is not a mapping: %w", domain.ErrInvalid)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "faq" {
			seq := root.Content[i+1]
			if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
				seq.Kind, seq.Tag, seq.Value = yaml.SequenceNode, "!!seq", ""
			}
			if seq.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("knowledge:%d: faq is not a list: %w", seq.Line, domain.ErrInvalid)
			}
			return seq, nil
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	root.Content = append(root.Content, str("faq"), seq)
	return seq, nil
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func parseDoc(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("knowledge: %v: %w", err, domain.ErrInvalid)
	}
	return &doc, nil
}

func encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("knowledge: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("knowledge: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// AddVariant returns the knowledge file with question appended to the
// variants of FAQ entry id (comments and order are kept).
func AddVariant(data []byte, id, question string) ([]byte, error) {
	doc, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	seq, err := faqs(doc)
	if err != nil {
		return nil, err
	}
	for _, entry := range seq.Content {
		if entry.Kind != yaml.MappingNode || field(entry, "id") == nil || field(entry, "id").Value != id {
			continue
		}
		vs := field(entry, "variants")
		if vs == nil {
			vs = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			entry.Content = append(entry.Content, str("variants"), vs)
		}
		for _, v := range vs.Content {
			if v.Value == question {
				return nil, fmt.Errorf("faq %s already has this variant: %w", id, domain.ErrConflict)
			}
		}
		vs.Content = append(vs.Content, str(question))
		return encode(doc)
	}
	return nil, fmt.Errorf("faq %q: %w", id, domain.ErrNotFound)
}

// AddEntry returns the knowledge file with a new FAQ entry appended.
func AddEntry(data []byte, id, question, answer string) ([]byte, error) {
	doc, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	seq, err := faqs(doc)
	if err != nil {
		return nil, err
	}
	for _, entry := range seq.Content {
		if f := field(entry, "id"); f != nil && f.Value == id {
			return nil, fmt.Errorf("faq %q exists: %w", id, domain.ErrConflict)
		}
	}
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		str("id"), str(id), str("question"), str(question), str("answer"), str(answer),
	}})
	return encode(doc)
}

func field(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
