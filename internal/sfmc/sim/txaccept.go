package sim

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Transactional sends accepted through the API: an integration's
// POST /messaging/v1/email/messages/{messageKey} is answered 202 (see
// loadgen.TransactionalSendAPI). While transactional_swallowed targets the
// definition, the messages it accepted appear in the not-sent feed (param
// status_code, default 139 TimedoutInQueue) instead of being sent.

type acceptedTx struct {
	at  time.Time
	def *txDefinition
	key string
}

// acceptedStore holds accepted messages per business unit, oldest first.
type acceptedStore struct {
	mu sync.Mutex
	by map[int64][]acceptedTx
}

// maxAcceptedTx bounds the accepted messages kept per business unit.
const maxAcceptedTx = 100000

// AcceptTransactional records a transactional message accepted for the
// definition with this key in whichever business unit has it, at the
// simulated now; false when no business unit has the definition.
func (s *Sim) AcceptTransactional(definitionKey, messageKey string) bool {
	now := s.clock.Now()
	for _, mid := range s.mids {
		tx := s.tenants[mid].txByKey[strings.ToLower(definitionKey)]
		if tx == nil {
			continue
		}
		s.accepted.mu.Lock()
		if s.accepted.by == nil {
			s.accepted.by = map[int64][]acceptedTx{}
		}
		l := append(s.accepted.by[mid], acceptedTx{at: now, def: tx, key: messageKey})
		if len(l) > maxAcceptedTx {
			l = l[len(l)-maxAcceptedTx:]
		}
		s.accepted.by[mid] = l
		s.accepted.mu.Unlock()
		return true
	}
	return false
}

// acceptedIn returns the messages accepted in [from, to).
func (s *Sim) acceptedIn(mid int64, from, to time.Time) []acceptedTx {
	s.accepted.mu.Lock()
	defer s.accepted.mu.Unlock()
	l := s.accepted.by[mid]
	i := sort.Search(len(l), func(i int) bool { return !l[i].at.Before(from) })
	j := sort.Search(len(l), func(i int) bool { return !l[i].at.Before(to) })
	return append([]acceptedTx(nil), l[i:j]...)
}
