package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SilenceMatcher is one condition of a silence on an alert label. Op is one
// of "=", "!=", "=~", "!~" (the regular expressions are anchored); labels are
// family, rule, severity, tenant, owner, resource_type, resource_key.
type SilenceMatcher struct {
	Label string `json:"label"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// Matcher operators.
const (
	MatchEqual     = "="
	MatchNotEqual  = "!="
	MatchRegexp    = "=~"
	MatchNotRegexp = "!~"
)

// SilenceLabels are the alert labels silences and routes match on.
var silenceLabels = []string{"family", "rule", "severity", "tenant", "owner", "resource_type", "resource_key"}

// SilenceLabels returns the labels a matcher may name.
func SilenceLabels() []string { return slices.Clone(silenceLabels) }

// Validate checks the label, operator and (for regexp operators) that the
// value compiles.
func (m SilenceMatcher) Validate() error {
	if !slices.Contains(silenceLabels, m.Label) {
		return fmt.Errorf("matcher label %q: want one of %s", m.Label, strings.Join(silenceLabels, ", "))
	}
	switch m.Op {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		if _, err := regexp.Compile("^(?:" + m.Value + ")$"); err != nil {
			return fmt.Errorf("matcher %s%s: invalid regular expression: %w", m.Label, m.Op, err)
		}
	default:
		return fmt.Errorf("matcher on %q: operator %q: want =, !=, =~ or !~", m.Label, m.Op)
	}
	return nil
}

// String formats the matcher as label op "value".
func (m SilenceMatcher) String() string {
	return fmt.Sprintf("%s%s%q", m.Label, m.Op, m.Value)
}

// Silence mutes the alerts all of whose labels match every matcher while
// StartsAt <= now < EndsAt.
type Silence struct {
	ID        int64            `json:"id"`
	Matchers  []SilenceMatcher `json:"matchers"`
	StartsAt  time.Time        `json:"starts_at"`
	EndsAt    time.Time        `json:"ends_at"`
	CreatedBy string           `json:"created_by"`
	Comment   string           `json:"comment"`
	CreatedAt time.Time        `json:"created_at"`
	// UpdatedAt changes when the silence is expired early.
	UpdatedAt time.Time `json:"updated_at"`
}

// ActiveAt reports whether the silence applies at t.
func (s Silence) ActiveAt(t time.Time) bool {
	return !t.Before(s.StartsAt) && t.Before(s.EndsAt)
}

// SilenceFilter selects silences.
type SilenceFilter struct {
	// ActiveAt selects the silences active at that time; zero = all.
	ActiveAt time.Time
	// Limit caps the rows; 0 means 500.
	Limit int
}

// SilenceStore keeps silences. The dispatcher reads them on every
// evaluation, so silences created through the API or CLI apply at once.
type SilenceStore interface {
	// CreateSilence validates and stores s (ID and UpdatedAt are assigned;
	// a zero CreatedAt is set to StartsAt).
	CreateSilence(ctx context.Context, s Silence) (Silence, error)
	// ListSilences lists silences, most recently created first.
	ListSilences(ctx context.Context, f SilenceFilter) ([]Silence, error)
	// ExpireSilence ends a silence at now (EndsAt = now, or StartsAt when
	// it has not started yet); ErrNotFound when there is no such silence.
	// Expiring an already ended silence changes nothing.
	ExpireSilence(ctx context.Context, id int64, now time.Time) (Silence, error)
}

// OutboxStatus is a notification's delivery state.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
)

// OutboxMessage is one notification to one channel of one receiver,
// written before it is sent and delivered at least once. A message for a
// receiver with several channels is stored as one row per channel, each
// claimed, retried and given up on its own.
type OutboxMessage struct {
	ID int64 `json:"id"`
	// Key is the message's idempotency key, shared by its channel rows:
	// a (Key, Channel) pair that exists is never stored (nor sent) twice.
	Key string `json:"key"`
	// Channel names the receiver's channel the row is for ("slack",
	// "email", …). Empty means the whole receiver: rows enqueued before
	// per-channel delivery (migration 00005), or receivers whose notifier
	// has no named channels.
	Channel  string `json:"channel,omitempty"`
	Receiver string `json:"receiver"`
	GroupKey string `json:"group_key,omitempty"`
	// Kind says what the payload is (e.g. "group", "escalation", "report",
	// "test"); it is not interpreted by the store.
	Kind string `json:"kind,omitempty"`
	// Payload is the JSON message (owned by internal/notify).
	Payload       json.RawMessage `json:"payload"`
	Status        OutboxStatus    `json:"status"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	LeaseOwner    string          `json:"lease_owner,omitempty"`
	LeaseUntil    time.Time       `json:"lease_until"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	SentAt        time.Time       `json:"sent_at"`
}

// NotifyState is the notification log of one (receiver, alert group): what
// the receiver was last told. Version makes updates compare-and-set.
type NotifyState struct {
	Receiver string `json:"receiver"`
	GroupKey string `json:"group_key"`
	// Version is 0 for a state not stored yet; CommitNotification stores
	// Version+1.
	Version   int64           `json:"version"`
	State     json.RawMessage `json:"state"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// OutboxFilter selects outbox messages. Empty fields do not filter.
type OutboxFilter struct {
	Status OutboxStatus
	// Key selects the rows of one message (one per channel).
	Key string
	// Channel selects one channel's rows (empty does not filter, so
	// whole-receiver rows cannot be selected by it).
	Channel  string
	Receiver string
	GroupKey string
	Kind     string
	// Limit caps the rows; 0 means 500.
	Limit int
}

// OutboxStore is the durable notification outbox and notification log.
type OutboxStore interface {
	// EnqueueNotifications stores messages as pending, due at their
	// NextAttemptAt (zero = now), in one transaction. A message is skipped
	// when its (Key, Channel) is already stored, when its Key is stored
	// for the whole receiver (Channel empty: a row from before the
	// upgrade already delivers to every channel), or, for a whole-receiver
	// message, when any row has its Key; inserted counts the new ones.
	EnqueueNotifications(ctx context.Context, now time.Time, msgs ...OutboxMessage) (inserted int, err error)
	// CommitNotification stores st if the stored version still equals
	// st.Version (0 = not stored yet) and enqueues msgs, atomically. On a
	// version mismatch nothing is written and ErrConflict is returned (a
	// replica committed first: reload and re-evaluate).
	CommitNotification(ctx context.Context, st NotifyState, now time.Time, msgs ...OutboxMessage) (NotifyState, error)
	// NotifyStates lists the notification log, all receivers when receiver
	// is empty.
	NotifyStates(ctx context.Context, receiver string) ([]NotifyState, error)
	// DeleteNotifyState removes a state at the given version (ErrConflict
	// when it changed, ErrNotFound when absent).
	DeleteNotifyState(ctx context.Context, receiver, groupKey string, version int64) error
	// ClaimNotifications leases up to limit due pending messages to owner
	// until now+leaseFor, oldest due first, incrementing Attempts. Two
	// concurrent callers never get the same message.
	ClaimNotifications(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]OutboxMessage, error)
	// MarkNotificationSent records a delivery. ErrConflict when owner no
	// longer holds the lease.
	MarkNotificationSent(ctx context.Context, id int64, owner string, now time.Time) error
	// RenewNotification extends owner's lease on a pending message to
	// until while a send is still running. ErrConflict when owner no
	// longer holds it.
	RenewNotification(ctx context.Context, id int64, owner string, until, now time.Time) error
	// RetryNotification ends the lease after a retryable failure: the
	// message is due again at until, reason kept as LastError.
	RetryNotification(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error
	// FailNotification gives up on a message (permanent failure).
	FailNotification(ctx context.Context, id int64, owner, reason string, now time.Time) error
	// GetNotification returns one row of a message by idempotency key (the
	// first enqueued when it has one per channel; OutboxFilter.Key lists
	// them all), or ErrNotFound.
	GetNotification(ctx context.Context, key string) (OutboxMessage, error)
	// ListNotifications lists messages, newest first.
	ListNotifications(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error)
	// PruneNotifications deletes sent and failed messages created before
	// before; pending ones are kept.
	PruneNotifications(ctx context.Context, before time.Time) (int64, error)
}

// ---- silences ----

const silenceCols = "id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at"

func scanSilence(sc scanner) (Silence, error) {
	var (
		s                              Silence
		matchers                       string
		starts, ends, created, updated int64
	)
	if err := sc.Scan(&s.ID, &matchers, &starts, &ends, &s.CreatedBy, &s.Comment, &created, &updated); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(matchers), &s.Matchers); err != nil {
		return s, fmt.Errorf("matchers of silence %d: %w", s.ID, err)
	}
	s.StartsAt, s.EndsAt = fromUS(starts), fromUS(ends)
	s.CreatedAt, s.UpdatedAt = fromUS(created), fromUS(updated)
	return s, nil
}

// ValidateSilence checks a silence before it is stored.
func ValidateSilence(s Silence) error {
	if len(s.Matchers) == 0 {
		return errors.New("a silence needs at least one matcher")
	}
	for i, m := range s.Matchers {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("matcher %d: %w", i+1, err)
		}
	}
	if s.StartsAt.IsZero() || s.EndsAt.IsZero() {
		return errors.New("a silence needs a start and an end")
	}
	if !s.EndsAt.After(s.StartsAt) {
		return fmt.Errorf("silence ends (%s) before it starts (%s)", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	return nil
}

func (s *sqlStore) CreateSilence(ctx context.Context, sil Silence) (Silence, error) {
	if err := ValidateSilence(sil); err != nil {
		return Silence{}, fmt.Errorf("store: create silence: %w", err)
	}
	b, err := json.Marshal(sil.Matchers)
	if err != nil {
		return Silence{}, fmt.Errorf("store: create silence: %w", err)
	}
	if sil.CreatedAt.IsZero() {
		sil.CreatedAt = sil.StartsAt
	}
	out, err := scanSilence(s.w.QueryRowContext(ctx, s.q(`INSERT INTO silences
		(matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+silenceCols),
		string(b), us(sil.StartsAt), us(sil.EndsAt), sil.CreatedBy, sil.Comment, us(sil.CreatedAt), us(sil.CreatedAt)))
	if err != nil {
		return Silence{}, fmt.Errorf("store: create silence: %w", err)
	}
	return out, nil
}

func (s *sqlStore) ListSilences(ctx context.Context, f SilenceFilter) ([]Silence, error) {
	var w where
	if !f.ActiveAt.IsZero() {
		t := us(f.ActiveAt)
		w.add("starts_at <= ? AND ends_at > ?", t, t)
	}
	limit := clampLimit(f.Limit, 500, 10000)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+silenceCols+` FROM silences`+w.String()+
		fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		sil, err := scanSilence(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list silences: %w", err)
		}
		out = append(out, sil)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list silences: %w", err)
	}
	return out, nil
}

func (s *sqlStore) ExpireSilence(ctx context.Context, id int64, now time.Time) (Silence, error) {
	n := us(now)
	// Only shorten: an ended silence keeps its end; one that has not
	// started ends at its start (it never applies).
	out, err := scanSilence(s.w.QueryRowContext(ctx, s.q(`UPDATE silences SET
		ends_at = CASE WHEN ends_at <= ? THEN ends_at WHEN starts_at > ? THEN starts_at ELSE ? END,
		updated_at = CASE WHEN ends_at <= ? THEN updated_at ELSE ? END
		WHERE id = ? RETURNING `+silenceCols), n, n, n, n, n, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Silence{}, fmt.Errorf("store: expire silence %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Silence{}, fmt.Errorf("store: expire silence %d: %w", id, err)
	}
	return out, nil
}

// ---- outbox ----

const outboxCols = "id, idem_key, channel, receiver, group_key, kind, payload, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, updated_at, sent_at"

func scanOutbox(sc scanner) (OutboxMessage, error) {
	var (
		m                                   OutboxMessage
		payload, status                     string
		attempts, next, leaseUntil, cr, upd int64
		sent                                sql.NullInt64
	)
	if err := sc.Scan(&m.ID, &m.Key, &m.Channel, &m.Receiver, &m.GroupKey, &m.Kind, &payload, &status, &attempts,
		&next, &m.LeaseOwner, &leaseUntil, &m.LastError, &cr, &upd, &sent); err != nil {
		return m, err
	}
	m.Payload = json.RawMessage(payload)
	m.Status = OutboxStatus(status)
	m.Attempts = int(attempts)
	m.NextAttemptAt, m.LeaseUntil = fromUS(next), fromUS(leaseUntil)
	m.CreatedAt, m.UpdatedAt, m.SentAt = fromUS(cr), fromUS(upd), fromNullUS(sent)
	return m, nil
}

func checkOutboxMessage(m OutboxMessage) error {
	if m.Key == "" || m.Receiver == "" {
		return errors.New("outbox message needs a key and a receiver")
	}
	if !json.Valid(m.Payload) {
		return fmt.Errorf("outbox message %q: payload is not valid JSON", m.Key)
	}
	return nil
}

// outboxLockClass is the first key of the PostgreSQL advisory locks that
// serialise enqueues of one message key (the two-key lock space does not
// overlap the migration lock's single-key one).
const outboxLockClass = 0x5f0b0c5

func (s *sqlStore) enqueueTx(ctx context.Context, tx *sql.Tx, now time.Time, msgs []OutboxMessage) (int, error) {
	for _, m := range msgs {
		if err := checkOutboxMessage(m); err != nil {
			return 0, err
		}
	}
	if s.pg {
		// NOT EXISTS below cannot see another transaction's uncommitted
		// rows: without a lock, two replicas could store a whole-receiver
		// row and channel rows of the same key. Lock each key for the
		// rest of the transaction, in sorted order (no deadlock); the
		// statements after it see what the other transaction committed.
		keys := make([]string, 0, len(msgs))
		for _, m := range msgs {
			keys = append(keys, m.Key)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, outboxLockClass, k); err != nil {
				return 0, fmt.Errorf("lock outbox key %q: %w", k, err)
			}
		}
	}
	inserted := 0
	for _, m := range msgs {
		due := m.NextAttemptAt
		if due.IsZero() {
			due = now
		}
		// The unique (idem_key, channel) settles concurrent inserts of one
		// row; NOT EXISTS keeps a channel row from duplicating a
		// whole-receiver row of the same message and vice versa. The
		// casts type the parameters for PostgreSQL (INSERT … SELECT).
		r, err := tx.ExecContext(ctx, s.q(`INSERT INTO notification_outbox
			(idem_key, channel, receiver, group_key, kind, payload, status, next_attempt_at, created_at, updated_at)
			SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),
				'pending', CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
			WHERE NOT EXISTS (SELECT 1 FROM notification_outbox
				WHERE idem_key = CAST(? AS TEXT) AND (channel = '' OR channel = CAST(? AS TEXT) OR CAST(? AS TEXT) = ''))
			ON CONFLICT (idem_key, channel) DO NOTHING`),
			m.Key, m.Channel, m.Receiver, m.GroupKey, m.Kind, string(m.Payload), us(due), us(now), us(now),
			m.Key, m.Channel, m.Channel)
		if err != nil {
			return 0, fmt.Errorf("enqueue %q (channel %q): %w", m.Key, m.Channel, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			inserted++
		}
	}
	return inserted, nil
}

func (s *sqlStore) EnqueueNotifications(ctx context.Context, now time.Time, msgs ...OutboxMessage) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var inserted int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inserted, err = s.enqueueTx(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue notifications: %w", err)
	}
	return inserted, nil
}

func (s *sqlStore) CommitNotification(ctx context.Context, st NotifyState, now time.Time, msgs ...OutboxMessage) (NotifyState, error) {
	if st.Receiver == "" || st.GroupKey == "" || st.Version < 0 || !json.Valid(st.State) {
		return NotifyState{}, errors.New("store: commit notification: receiver, group key, version >= 0 and a JSON state are required")
	}
	next := st
	next.Version = st.Version + 1
	next.UpdatedAt = now.UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var r sql.Result
		var err error
		if st.Version == 0 {
			r, err = tx.ExecContext(ctx, s.q(`INSERT INTO notify_states (receiver, group_key, version, state, updated_at)
				VALUES (?, ?, 1, ?, ?) ON CONFLICT (receiver, group_key) DO NOTHING`),
				st.Receiver, st.GroupKey, string(st.State), us(now))
		} else {
			r, err = tx.ExecContext(ctx, s.q(`UPDATE notify_states SET version = ?, state = ?, updated_at = ?
				WHERE receiver = ? AND group_key = ? AND version = ?`),
				next.Version, string(st.State), us(now), st.Receiver, st.GroupKey, st.Version)
		}
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("%s/%s moved past version %d: %w", st.Receiver, st.GroupKey, st.Version, ErrConflict)
		}
		_, err = s.enqueueTx(ctx, tx, now, msgs)
		return err
	})
	if err != nil {
		return NotifyState{}, fmt.Errorf("store: commit notification: %w", err)
	}
	return next, nil
}

func (s *sqlStore) NotifyStates(ctx context.Context, receiver string) ([]NotifyState, error) {
	var w where
	w.eq("receiver", receiver)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT receiver, group_key, version, state, updated_at FROM notify_states`+
		w.String()+` ORDER BY receiver, group_key`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: notify states: %w", err)
	}
	defer rows.Close()
	var out []NotifyState
	for rows.Next() {
		var (
			st    NotifyState
			state string
			upd   int64
		)
		if err := rows.Scan(&st.Receiver, &st.GroupKey, &st.Version, &state, &upd); err != nil {
			return nil, fmt.Errorf("store: notify states: %w", err)
		}
		st.State, st.UpdatedAt = json.RawMessage(state), fromUS(upd)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: notify states: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteNotifyState(ctx context.Context, receiver, groupKey string, version int64) error {
	r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM notify_states WHERE receiver = ? AND group_key = ? AND version = ?`),
		receiver, groupKey, version)
	if err != nil {
		return fmt.Errorf("store: delete notify state %s/%s: %w", receiver, groupKey, err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	err = s.w.QueryRowContext(ctx, s.q(`SELECT 1 FROM notify_states WHERE receiver = ? AND group_key = ?`), receiver, groupKey).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: delete notify state %s/%s: %w", receiver, groupKey, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: delete notify state %s/%s: %w", receiver, groupKey, err)
	}
	return fmt.Errorf("store: delete notify state %s/%s: moved past version %d: %w", receiver, groupKey, version, ErrConflict)
}

// ClaimNotifications uses the same single-statement claim as ClaimDue.
func (s *sqlStore) ClaimNotifications(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]OutboxMessage, error) {
	if owner == "" || leaseFor <= 0 || limit <= 0 {
		return nil, errors.New("store: claim notifications: owner, positive lease and limit are required")
	}
	n, until := us(now), us(now.Add(leaseFor))
	var (
		query string
		args  []any
	)
	if s.pg {
		query = `WITH due AS (
				SELECT id FROM notification_outbox
				WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
				ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			UPDATE notification_outbox o SET lease_owner = ?, lease_until = ?, attempts = o.attempts + 1, updated_at = ?
			FROM due WHERE o.id = due.id
			RETURNING o.id, o.idem_key, o.channel, o.receiver, o.group_key, o.kind, o.payload, o.status, o.attempts,
				o.next_attempt_at, o.lease_owner, o.lease_until, o.last_error, o.created_at, o.updated_at, o.sent_at`
		args = []any{n, n, int64(limit), owner, until, n}
	} else {
		query = `UPDATE notification_outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (
				SELECT id FROM notification_outbox
				WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING ` + outboxCols
		args = []any{owner, until, n, n, n, int64(limit)}
	}
	rows, err := s.w.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: claim notifications: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claim notifications: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim notifications: %w", err)
	}
	slices.SortFunc(out, func(a, b OutboxMessage) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// releaseOutbox ends owner's lease on a pending message with an update.
func (s *sqlStore) releaseOutbox(ctx context.Context, op string, id int64, owner, set string, args ...any) error {
	args = append(args, id, owner)
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE notification_outbox SET lease_owner = '', lease_until = 0, `+set+`
		WHERE id = ? AND lease_owner = ? AND status = 'pending'`), args...)
	if err != nil {
		return fmt.Errorf("store: %s notification %d: %w", op, id, err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return nil
	}
	return s.outboxLeaseLost(ctx, op, id, owner)
}

// OutboxLease is the lease a dispatcher should claim notifications for
// (notify.Options.LeaseFor): with the dispatcher's default poll interval
// (10 s) a replica that dies mid-send has its message taken over within
// OutboxLease + 10 s = 25 s. A send that may outlast it renews the lease
// (RenewNotification) every OutboxLease/3.
const OutboxLease = 15 * time.Second

// RenewNotification moves owner's lease on a pending message to until;
// ErrConflict (wrapped) when another owner claimed it or it is no longer
// pending, ErrNotFound when it does not exist.
func (s *sqlStore) RenewNotification(ctx context.Context, id int64, owner string, until, now time.Time) error {
	if !until.After(now) {
		return fmt.Errorf("store: renew notification %d: lease must end after now", id)
	}
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE notification_outbox SET lease_until = ?
		WHERE id = ? AND lease_owner = ? AND status = 'pending'`), us(until), id, owner)
	if err != nil {
		return fmt.Errorf("store: renew notification %d: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return nil
	}
	return s.outboxLeaseLost(ctx, "renew", id, owner)
}

// outboxLeaseLost explains why owner's update of message id matched no row.
func (s *sqlStore) outboxLeaseLost(ctx context.Context, op string, id int64, owner string) error {
	var status string
	err := s.w.QueryRowContext(ctx, s.q(`SELECT status FROM notification_outbox WHERE id = ?`), id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s notification %d: %w", op, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %s notification %d: %w", op, id, err)
	}
	return fmt.Errorf("store: %s notification %d (%s): lease not held by %q: %w", op, id, status, owner, ErrConflict)
}

func (s *sqlStore) MarkNotificationSent(ctx context.Context, id int64, owner string, now time.Time) error {
	return s.releaseOutbox(ctx, "mark sent", id, owner, "status = 'sent', sent_at = ?, last_error = '', updated_at = ?", us(now), us(now))
}

func (s *sqlStore) RetryNotification(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error {
	return s.releaseOutbox(ctx, "retry", id, owner, "next_attempt_at = ?, last_error = ?, updated_at = ?", us(until), reason, us(now))
}

func (s *sqlStore) FailNotification(ctx context.Context, id int64, owner, reason string, now time.Time) error {
	return s.releaseOutbox(ctx, "fail", id, owner, "status = 'failed', last_error = ?, updated_at = ?", reason, us(now))
}

func (s *sqlStore) GetNotification(ctx context.Context, key string) (OutboxMessage, error) {
	m, err := scanOutbox(s.r.QueryRowContext(ctx, s.q(`SELECT `+outboxCols+` FROM notification_outbox WHERE idem_key = ?
		ORDER BY id LIMIT 1`), key))
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxMessage{}, fmt.Errorf("store: notification %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("store: notification %q: %w", key, err)
	}
	return m, nil
}

func (s *sqlStore) ListNotifications(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error) {
	var w where
	w.eq("status", string(f.Status))
	w.eq("idem_key", f.Key)
	w.eq("channel", f.Channel)
	w.eq("receiver", f.Receiver)
	w.eq("group_key", f.GroupKey)
	w.eq("kind", f.Kind)
	limit := clampLimit(f.Limit, 500, 10000)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+outboxCols+` FROM notification_outbox`+w.String()+
		fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list notifications: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list notifications: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list notifications: %w", err)
	}
	return out, nil
}

func (s *sqlStore) PruneNotifications(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM notification_outbox WHERE status <> 'pending' AND created_at < ?`), us(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune notifications: %w", err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

// ParseMatcher parses `label=value`, `label!=value`, `label=~regexp` or
// `label!~regexp`; the value may be double-quoted.
func ParseMatcher(s string) (SilenceMatcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return SilenceMatcher{}, fmt.Errorf("matcher %q: want label=value, label!=value, label=~regexp or label!~regexp", s)
	}
	m := SilenceMatcher{Label: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
		if strings.HasPrefix(rest, op) {
			m.Op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if m.Op == "" {
		return SilenceMatcher{}, fmt.Errorf("matcher %q: want label=value, label!=value, label=~regexp or label!~regexp", s)
	}
	if strings.HasPrefix(rest, `"`) {
		if len(rest) < 2 || !strings.HasSuffix(rest, `"`) {
			return SilenceMatcher{}, fmt.Errorf("matcher %q: unterminated quoted value", s)
		}
		// Go escapes (\n, \") when valid; otherwise the text between the
		// quotes as written, so regexps like "tenant\.blind" work.
		if v, err := strconv.Unquote(rest); err == nil {
			rest = v
		} else {
			rest = rest[1 : len(rest)-1]
		}
	}
	m.Value = rest
	if err := m.Validate(); err != nil {
		return SilenceMatcher{}, err
	}
	return m, nil
}
