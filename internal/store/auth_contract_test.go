package store

import (
	"errors"
	"testing"
	"time"
)

func testAuth(t *testing.T, h harness) {
	s := openT(t, h.fresh(t))
	ctx := t.Context()

	// Users.
	if _, err := s.CreateUser(ctx, User{Name: "ana", Role: "root", PasswordHash: "h"}, t0); err == nil {
		t.Fatal("CreateUser accepted an unknown role")
	}
	if _, err := s.CreateUser(ctx, User{Name: "ana", Role: RoleAdmin}, t0); err == nil {
		t.Fatal("CreateUser accepted an empty hash")
	}
	ana, err := s.CreateUser(ctx, User{Name: "ana", Role: RoleAdmin, PasswordHash: "$argon2id$ana"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ana.ID == 0 || !ana.CreatedAt.Equal(t0) {
		t.Fatalf("created user = %+v", ana)
	}
	if _, err := s.CreateUser(ctx, User{Name: "ana", Role: RoleViewer, PasswordHash: "x"}, t0); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
	}
	bo, err := s.CreateUser(ctx, User{Name: "bo", Role: RoleViewer, PasswordHash: "$argon2id$bo"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "ana")
	if err != nil || got.ID != ana.ID || got.Role != RoleAdmin || got.PasswordHash != "$argon2id$ana" || !got.LastLoginAt.IsZero() {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUser(missing) err = %v", err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "ana" || list[1].Name != "bo" {
		t.Fatalf("ListUsers = %+v, %v", list, err)
	}

	// Sessions: live until expiry, stamp the last login.
	login := t0.Add(time.Minute)
	if err := s.CreateSession(ctx, Session{TokenHash: "sess-a", UserID: ana.ID, CreatedAt: login, ExpiresAt: login.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, Session{TokenHash: "sess-a", UserID: bo.ID, CreatedAt: login, ExpiresAt: login.Add(time.Hour)}); err == nil {
		t.Fatal("duplicate session hash accepted")
	}
	ses, u, err := s.GetSession(ctx, "sess-a", login.Add(59*time.Minute))
	if err != nil || u.Name != "ana" || ses.UserID != ana.ID || !ses.ExpiresAt.Equal(login.Add(time.Hour)) || !u.LastLoginAt.Equal(login) {
		t.Fatalf("GetSession = %+v %+v %v", ses, u, err)
	}
	if _, _, err := s.GetSession(ctx, "sess-a", login.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.GetSession(ctx, "nope", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown session: err = %v", err)
	}
	if err := s.DeleteSession(ctx, "sess-a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, "sess-a", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted session still there: %v", err)
	}

	// A password change ends the user's sessions and revokes their API
	// tokens.
	if err := s.CreateSession(ctx, Session{TokenHash: "sess-b", UserID: bo.ID, CreatedAt: login, ExpiresAt: login.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIToken(ctx, APIToken{Name: "bo-ci", UserID: bo.ID, TokenHash: "tok-bo"}, login); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "bo", "$argon2id$new", login); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetSession(ctx, "sess-b", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session survived a password change: %v", err)
	}
	if _, _, err := s.GetAPIToken(ctx, "tok-bo", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("API token survived a password change: %v", err)
	}
	if got, _ := s.GetUser(ctx, "bo"); got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password not changed: %q", got.PasswordHash)
	}
	if err := s.SetPassword(ctx, "nobody", "x", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPassword(missing) err = %v", err)
	}

	// API tokens.
	tok, err := s.CreateAPIToken(ctx, APIToken{Name: "ci", UserID: ana.ID, TokenHash: "tok-1"}, t0)
	if err != nil || tok.ID == 0 || !tok.CreatedAt.Equal(t0) || !tok.ExpiresAt.IsZero() {
		t.Fatalf("CreateAPIToken = %+v, %v", tok, err)
	}
	if _, err := s.CreateAPIToken(ctx, APIToken{Name: "ci", UserID: ana.ID, TokenHash: "tok-2"}, t0); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate token name: %v", err)
	}
	short, err := s.CreateAPIToken(ctx, APIToken{Name: "short", UserID: bo.ID, TokenHash: "tok-3", ExpiresAt: t0.Add(time.Hour)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	gt, gu, err := s.GetAPIToken(ctx, "tok-1", t0.Add(1000*time.Hour))
	if err != nil || gt.ID != tok.ID || gu.Name != "ana" {
		t.Fatalf("GetAPIToken = %+v %+v %v", gt, gu, err)
	}
	if _, _, err := s.GetAPIToken(ctx, "tok-3", t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	all, err := s.ListAPITokens(ctx, 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("ListAPITokens(all) = %+v, %v", all, err)
	}
	mine, err := s.ListAPITokens(ctx, bo.ID)
	if err != nil || len(mine) != 1 || mine[0].ID != short.ID || mine[0].TokenHash != "tok-3" {
		t.Fatalf("ListAPITokens(bo) = %+v, %v", mine, err)
	}
	if n, err := s.PruneSessions(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneSessions = %d, %v; want the expired token", n, err)
	}
	if err := s.DeleteAPIToken(ctx, short.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteAPIToken(pruned) = %v", err)
	}

	// Deleting a user takes their sessions and tokens along.
	if err := s.CreateSession(ctx, Session{TokenHash: "sess-c", UserID: ana.ID, CreatedAt: login, ExpiresAt: login.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ana"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteUser twice: %v", err)
	}
	if _, _, err := s.GetSession(ctx, "sess-c", login); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a deleted user: %v", err)
	}
	if _, _, err := s.GetAPIToken(ctx, "tok-1", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token of a deleted user: %v", err)
	}
	if left, _ := s.ListAPITokens(ctx, 0); len(left) != 0 {
		t.Fatalf("tokens left after deleting their user: %+v", left)
	}
}
