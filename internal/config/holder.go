package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Holder keeps the running config and swaps it on reload. Readers call
// Current on every use (an atomic load) instead of keeping the pointer, so a
// reload takes effect without restarting anything; state lives elsewhere.
type Holder struct {
	loader Loader
	cur    atomic.Pointer[Config]

	mu   sync.Mutex // serialises Reload and the subscriber list
	subs map[int]func(old, cur *Config)
	next int
}

// NewHolder returns a Holder running cfg; loader reads reloaded files (the
// zero Loader uses the process environment and disk).
func NewHolder(cfg *Config, loader Loader) *Holder {
	h := &Holder{loader: loader, subs: map[int]func(old, cur *Config){}}
	h.cur.Store(cfg)
	return h
}

// Current returns the running config. Treat it as read-only.
func (h *Holder) Current() *Config { return h.cur.Load() }

// Reload loads path; when it is valid it replaces the running config and
// notifies subscribers, otherwise the running config stays and the error
// (an *Error listing every problem, or a read error) is returned.
func (h *Holder) Reload(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg, err := h.loader.Load(path)
	if err != nil {
		return err
	}
	old := h.cur.Swap(cfg)
	for i := range h.next {
		if fn, ok := h.subs[i]; ok {
			fn(old, cfg)
		}
	}
	return nil
}

// Subscribe registers fn to run after every successful reload, with the
// previous and the new config, in registration order. fn runs while the
// reload lock is held: it must not call Reload. cancel unregisters it.
func (h *Holder) Subscribe(fn func(old, cur *Config)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	h.subs[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

// reloadAndLog reloads and logs the outcome.
func (h *Holder) reloadAndLog(path, trigger string, logger *slog.Logger) error {
	err := h.Reload(path)
	if err != nil {
		logger.Error("config reload failed; keeping the running config",
			slog.String("file", path), slog.String("trigger", trigger), slog.Any("problems", problemList(err)))
		return err
	}
	cfg := h.Current()
	logger.Info("config reloaded", slog.String("file", path), slog.String("trigger", trigger),
		slog.Int("tenants", len(cfg.Tenants)), slog.Int("warnings", len(cfg.Warnings)))
	for _, w := range cfg.Warnings {
		logger.Warn("config warning", slog.String("problem", w.String()))
	}
	return nil
}

func problemList(err error) []string {
	var ce *Error
	if errors.As(err, &ce) {
		out := make([]string, len(ce.Problems))
		for i, p := range ce.Problems {
			out[i] = p.String()
		}
		return out
	}
	return []string{err.Error()}
}

// WatchSIGHUP reloads path on every SIGHUP until ctx ends, logging the
// outcome; an invalid file is logged and the running config kept.
func WatchSIGHUP(ctx context.Context, h *Holder, path string, logger *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			_ = h.reloadAndLog(path, "SIGHUP", logger)
		}
	}
}

// ReloadHandler serves POST /-/reload: 200 "ok" after a successful reload,
// 400 with one problem a line when the new file is invalid (the running
// config is kept), 405 for other methods.
func (h *Holder) ReloadHandler(path string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := h.reloadAndLog(path, "http", logger); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintln(w, "config reload failed; keeping the running config:")
			for _, p := range problemList(err) {
				fmt.Fprintln(w, p)
			}
			return
		}
		fmt.Fprintln(w, "ok")
	})
}
