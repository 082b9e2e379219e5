package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Roles a dashboard user can have.
const (
	// RoleAdmin may change state: acknowledge and resolve incidents,
	// create and expire silences, manage API tokens.
	RoleAdmin = "admin"
	// RoleViewer may only read.
	RoleViewer = "viewer"
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleViewer }

// User is a local dashboard user. PasswordHash is an opaque PHC-style string
// (the web package hashes and verifies); it never leaves the process in JSON.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// LastLoginAt is zero when the user never logged in.
	LastLoginAt time.Time `json:"last_login_at"`
}

// Session is a browser login. Only the SHA-256 of the cookie value is stored.
type Session struct {
	TokenHash string    `json:"-"`
	UserID    int64     `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// APIToken is a bearer token for the JSON API. Only the SHA-256 of the
// token is stored; the token itself is shown once, when created.
type APIToken struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	UserID    int64     `json:"user_id"`
	TokenHash string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for tokens that never expire.
	ExpiresAt time.Time `json:"expires_at"`
}

// AuthStore keeps users, sessions and API tokens.
type AuthStore interface {
	// CreateUser stores a new user (ID, CreatedAt and UpdatedAt are set);
	// ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u User, now time.Time) (User, error)
	// GetUser returns a user by name, or ErrNotFound.
	GetUser(ctx context.Context, name string) (User, error)
	// ListUsers lists the users by name.
	ListUsers(ctx context.Context) ([]User, error)
	// SetPassword replaces a user's password hash, ends all of the user's
	// sessions and revokes their API tokens; ErrNotFound when there is no
	// such user.
	SetPassword(ctx context.Context, name, hash string, now time.Time) error
	// DeleteUser deletes a user with their sessions and tokens;
	// ErrNotFound when there is no such user.
	DeleteUser(ctx context.Context, name string) error
	// CreateSession stores a session and stamps the user's last login.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a live (not expired at now) session and its user,
	// or ErrNotFound.
	GetSession(ctx context.Context, tokenHash string, now time.Time) (Session, User, error)
	// DeleteSession ends a session (no error when it does not exist).
	DeleteSession(ctx context.Context, tokenHash string) error
	// CreateAPIToken stores a token (ID and CreatedAt set; CreatedAt is
	// kept when given); ErrConflict when the user already has a token of
	// that name or the hash exists.
	CreateAPIToken(ctx context.Context, t APIToken, now time.Time) (APIToken, error)
	// GetAPIToken returns a live token and its user, or ErrNotFound.
	GetAPIToken(ctx context.Context, tokenHash string, now time.Time) (APIToken, User, error)
	// ListAPITokens lists a user's tokens (every user's when userID is 0).
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	// DeleteAPIToken deletes a token by id; ErrNotFound when absent.
	DeleteAPIToken(ctx context.Context, id int64) error
	// PruneSessions deletes the sessions and tokens expired at now.
	PruneSessions(ctx context.Context, now time.Time) (int64, error)
}

var _ AuthStore = (*sqlStore)(nil)

const userCols = "id, name, role, password_hash, created_at, updated_at, last_login_at"

func scanUser(sc scanner) (User, error) {
	var (
		u                User
		created, updated int64
		lastLogin        sql.NullInt64
	)
	if err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created, &updated, &lastLogin); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromUS(created), fromUS(updated), fromNullUS(lastLogin)
	return u, nil
}

func (s *sqlStore) CreateUser(ctx context.Context, u User, now time.Time) (User, error) {
	if u.Name == "" || u.PasswordHash == "" {
		return User{}, errors.New("store: create user: name and password hash are required")
	}
	if !ValidRole(u.Role) {
		return User{}, fmt.Errorf("store: create user %q: role %q: want admin or viewer", u.Name, u.Role)
	}
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO users (name, role, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`), u.Name, u.Role, u.PasswordHash, us(now), us(now)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: create user %q: name taken: %w", u.Name, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user %q: %w", u.Name, err)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromUS(us(now)), fromUS(us(now)), time.Time{}
	return u, nil
}

func (s *sqlStore) GetUser(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

func (s *sqlStore) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

func (s *sqlStore) SetPassword(ctx context.Context, name, hash string, now time.Time) error {
	if hash == "" {
		return fmt.Errorf("store: set password of %q: empty hash", name)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, s.q(`UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ? RETURNING id`),
			hash, us(now), name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
			return err
		}
		// API tokens were granted under the old password: a password
		// change (e.g. after a leak) revokes them too.
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM api_tokens WHERE user_id = ?`), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of %q: %w", name, err)
	}
	return nil
}

func (s *sqlStore) DeleteUser(ctx context.Context, name string) error {
	// Sessions and tokens go with the user (ON DELETE CASCADE).
	r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM users WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("store: delete user %q: %w", name, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete user %q: %w", name, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) CreateSession(ctx context.Context, ses Session) error {
	if ses.TokenHash == "" || ses.UserID == 0 || ses.ExpiresAt.IsZero() {
		return errors.New("store: create session: token hash, user and expiry are required")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
			ses.TokenHash, ses.UserID, us(ses.CreatedAt), us(ses.ExpiresAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET last_login_at = ? WHERE id = ?`), us(ses.CreatedAt), ses.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create session for user %d: %w", ses.UserID, err)
	}
	return nil
}

func (s *sqlStore) GetSession(ctx context.Context, tokenHash string, now time.Time) (Session, User, error) {
	var created, expires int64
	row := s.r.QueryRowContext(ctx, s.q(`SELECT s.created_at, s.expires_at, u.id, u.name, u.role, u.password_hash, u.created_at, u.updated_at, u.last_login_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`), tokenHash, us(now))
	var (
		u                  User
		uCreated, uUpdated int64
		lastLogin          sql.NullInt64
	)
	err := row.Scan(&created, &expires, &u.ID, &u.Name, &u.Role, &u.PasswordHash, &uCreated, &uUpdated, &lastLogin)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("store: session: %w", err)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromUS(uCreated), fromUS(uUpdated), fromNullUS(lastLogin)
	ses := Session{TokenHash: tokenHash, UserID: u.ID, CreatedAt: fromUS(created), ExpiresAt: fromUS(expires)}
	return ses, u, nil
}

func (s *sqlStore) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

const tokenCols = "id, name, user_id, token_hash, created_at, expires_at"

func scanToken(sc scanner) (APIToken, error) {
	var (
		t       APIToken
		created int64
		expires sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.Name, &t.UserID, &t.TokenHash, &created, &expires); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt = fromUS(created), fromNullUS(expires)
	return t, nil
}

func (s *sqlStore) CreateAPIToken(ctx context.Context, t APIToken, now time.Time) (APIToken, error) {
	if t.Name == "" || t.UserID == 0 || t.TokenHash == "" {
		return APIToken{}, errors.New("store: create API token: name, user and token hash are required")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO api_tokens (name, user_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`),
		t.Name, t.UserID, t.TokenHash, us(t.CreatedAt), nullUS(t.ExpiresAt)).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, fmt.Errorf("store: create API token %q: name or token already exists: %w", t.Name, ErrConflict)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("store: create API token %q: %w", t.Name, err)
	}
	t.CreatedAt, t.ExpiresAt = fromUS(us(t.CreatedAt)), fromUS(us(t.ExpiresAt))
	return t, nil
}

func (s *sqlStore) GetAPIToken(ctx context.Context, tokenHash string, now time.Time) (APIToken, User, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens
		WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)`), tokenHash, us(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, User{}, fmt.Errorf("store: API token: %w", ErrNotFound)
	}
	if err != nil {
		return APIToken{}, User{}, fmt.Errorf("store: API token: %w", err)
	}
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id = ?`), t.UserID))
	if errors.Is(err, sql.ErrNoRows) { // deleted between the two reads
		return APIToken{}, User{}, fmt.Errorf("store: API token: %w", ErrNotFound)
	}
	if err != nil {
		return APIToken{}, User{}, fmt.Errorf("store: API token user: %w", err)
	}
	return t, u, nil
}

func (s *sqlStore) ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	var w where
	if userID != 0 {
		w.add("user_id = ?", userID)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+tokenCols+` FROM api_tokens`+w.String()+` ORDER BY user_id, name`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list API tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list API tokens: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteAPIToken(ctx context.Context, id int64) error {
	r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM api_tokens WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("store: delete API token %d: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete API token %d: %w", id, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), us(now))
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		total += n
		r, err = tx.ExecContext(ctx, s.q(`DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`), us(now))
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		total += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	return total, nil
}
