package playground

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"
	"time"
)

// resultStore keeps recent results for the page to fetch by id, within a
// byte budget: expired ones go first, then the oldest.
type resultStore struct {
	mu    sync.Mutex
	max   int64
	ttl   time.Duration
	now   func() time.Time
	used  int64
	items map[string]*kept
	order []string // oldest first
}

type kept struct {
	contentType string
	data        []byte
	expires     time.Time
}

func newResultStore(max int64, ttl time.Duration, now func() time.Time) *resultStore {
	return &resultStore{max: max, ttl: ttl, now: now, items: map[string]*kept{}}
}

// put keeps data and returns its id. data must fit the budget.
func (s *resultStore) put(contentType string, data []byte) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	for len(s.order) > 0 && s.used+int64(len(data)) > s.max {
		s.drop(s.order[0])
	}
	s.items[id] = &kept{contentType, data, s.now().Add(s.ttl)}
	s.order = append(s.order, id)
	s.used += int64(len(data))
	return id
}

func (s *resultStore) get(id string) (*kept, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	k, ok := s.items[id]
	return k, ok
}

func (s *resultStore) expire() {
	now := s.now()
	for len(s.order) > 0 && !now.Before(s.items[s.order[0]].expires) {
		s.drop(s.order[0])
	}
}

func (s *resultStore) drop(id string) {
	s.used -= int64(len(s.items[id].data))
	delete(s.items, id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
}

// capture keeps a streamed body up to max bytes; past that it counts, and
// keeps only the first headBytes (enough for an image's size or a text's
// start), so a large result never sits whole in memory.
type capture struct {
	max      int
	buf      []byte
	overflow bool
}

func (c *capture) Write(p []byte) (int, error) {
	switch {
	case !c.overflow && len(c.buf)+len(p) <= c.max:
		c.buf = append(c.buf, p...)
	case !c.overflow:
		c.overflow = true
		head := make([]byte, 0, headBytes)
		c.buf = append(head, c.buf[:min(len(c.buf), headBytes)]...)
		fallthrough
	default:
		if room := headBytes - len(c.buf); room > 0 {
			c.buf = append(c.buf, p[:min(room, len(p))]...)
		}
	}
	return len(p), nil
}

// whole reports whether every byte was kept.
func (c *capture) whole() bool { return !c.overflow }

// kept is the body, or its start.
func (c *capture) kept() []byte { return c.buf }

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
