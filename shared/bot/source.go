package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// KnowledgeStore is the part of store.Records a KnowledgeSource needs.
type KnowledgeStore interface {
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
}

// DefaultKnowledgeKey is the record key of the live knowledge file.
const DefaultKnowledgeKey = "bot:knowledge"

// KnowledgeSource serves the live knowledge version from a store, caching it
// and re-checking the store at most every Refresh. Until something is
// published it serves DefaultKnowledge. It is safe for concurrent use.
type KnowledgeSource struct {
	st      KnowledgeStore
	key     string
	refresh time.Duration
	now     func() time.Time

	mu      sync.Mutex
	kb      *Knowledge
	version int64
	checked time.Time
}

// SourceOption configures a KnowledgeSource.
type SourceOption func(*KnowledgeSource)

// WithKey sets the record key (default DefaultKnowledgeKey).
func WithKey(key string) SourceOption { return func(s *KnowledgeSource) { s.key = key } }

// WithRefresh sets how often the store is re-checked (default 30 s).
func WithRefresh(d time.Duration) SourceOption { return func(s *KnowledgeSource) { s.refresh = d } }

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) SourceOption { return func(s *KnowledgeSource) { s.now = now } }

// NewKnowledgeSource returns a source reading from st.
func NewKnowledgeSource(st KnowledgeStore, opts ...SourceOption) *KnowledgeSource {
	s := &KnowledgeSource{st: st, key: DefaultKnowledgeKey, refresh: 30 * time.Second, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Current returns the live knowledge and its version (0 for the bundled
// default). A store error or an unparsable stored version keeps serving the
// last good knowledge; the error is returned only when there is none yet.
func (s *KnowledgeSource) Current(ctx context.Context) (*Knowledge, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.kb != nil && now.Sub(s.checked) < s.refresh {
		return s.kb, s.version, nil
	}
	rec, err := s.st.Get(ctx, s.key)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		s.checked = now
		if s.kb == nil {
			s.kb, s.version = DefaultKnowledge(), 0
		}
		return s.kb, s.version, nil
	case err != nil:
		if s.kb != nil {
			return s.kb, s.version, nil
		}
		return nil, 0, fmt.Errorf("bot: load knowledge: %w", err)
	}
	s.checked = now
	if rec.Version == s.version && s.kb != nil {
		return s.kb, s.version, nil
	}
	kb, perr := ParseKnowledgeFile(fmt.Sprintf("%s@v%d", s.key, rec.Version), rec.Value)
	if perr != nil {
		if s.kb == nil {
			s.kb, s.version = DefaultKnowledge(), 0
		}
		return s.kb, s.version, nil
	}
	s.kb, s.version = kb, rec.Version
	return s.kb, s.version, nil
}

// Publish validates data and stores it as the next version, returning it.
// Invalid data is rejected (wrapping domain.ErrInvalid) and the live
// version stays; a concurrent publish yields an error wrapping
// domain.ErrConflict.
func (s *KnowledgeSource) Publish(ctx context.Context, data []byte) (int64, error) {
	kb, err := ParseKnowledge(data)
	if err != nil {
		return 0, err
	}
	var cur int64
	rec, err := s.st.Get(ctx, s.key)
	switch {
	case err == nil:
		cur = rec.Version
	case !errors.Is(err, domain.ErrNotFound):
		return 0, fmt.Errorf("bot: publish knowledge: %w", err)
	}
	v, err := s.st.Put(ctx, s.key, data, cur, 0)
	if err != nil {
		return 0, fmt.Errorf("bot: publish knowledge: %w", err)
	}
	s.mu.Lock()
	s.kb, s.version, s.checked = kb, v, s.now()
	s.mu.Unlock()
	return v, nil
}
