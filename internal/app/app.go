// Package app assembles the parts every long-running mode shares — the
// collection engine, the event trigger that evaluates rules when events
// arrive, and alerting — in one place, so serve, the demo and any future
// mode wire them the same way: incident changes flow engine → correlation
// → dispatcher, and every stored event batch (proxy, ingest, tail, ENS)
// wakes the trigger.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options configure an App.
type Options struct {
	// Store and Config are required.
	Store  store.Store
	Config *config.Holder
	// Logger (default: discard).
	Logger *slog.Logger
	// Clock is the time of the engine and alerting (default time.Now; the
	// demo passes the simulator's).
	Clock func() time.Time
	// Alerts are the channels' options (console receivers' writers; nil:
	// no alerting at all, e.g. a measurement that only counts incidents).
	// A zero Clock takes Options.Clock.
	Alerts *channels.Options
	// Engine adjusts the engine's options before it is built (the demo
	// shortens leases and paces the SFMC clients).
	Engine func(*monitor.Options)
	// OnChanges also receives every incident change, after alerting (the
	// demo prints them).
	OnChanges func(tenant string, t resource.Type, ch incident.Changes)
}

// App is the engine, its event trigger and the alert dispatcher, wired.
type App struct {
	Engine     *monitor.Engine
	Trigger    *monitor.Trigger
	Dispatcher *notify.Dispatcher // nil without Options.Alerts
	log        *slog.Logger
}

// New builds the parts; Run runs them (or a caller steps them: the demo).
func New(o Options) (*App, error) {
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("app: Store and Config are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{log: o.Logger}
	if o.Alerts != nil {
		co := *o.Alerts
		if co.Clock == nil {
			co.Clock = o.Clock
		}
		d, err := notify.New(notify.Options{Store: o.Store, Config: o.Config, Clock: o.Clock, Logger: o.Logger,
			Build: channels.Builder(co)})
		if err != nil {
			return nil, fmt.Errorf("alerting: %w", err)
		}
		a.Dispatcher = d
	}
	eo := monitor.Options{Store: o.Store, Config: o.Config, Clock: o.Clock, Logger: o.Logger, OnChanges: a.onChanges(o.OnChanges)}
	if o.Engine != nil {
		o.Engine(&eo)
	}
	eng, err := monitor.New(eo)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	a.Engine = eng
	a.Trigger = eng.NewTrigger(monitor.TriggerOptions{})
	return a, nil
}

// onChanges hands incident changes to alerting, then to extra.
func (a *App) onChanges(extra func(string, resource.Type, incident.Changes)) func(string, resource.Type, incident.Changes) {
	return func(tenant string, t resource.Type, ch incident.Changes) {
		if a.Dispatcher != nil {
			a.Dispatcher.OnChanges(tenant, t, ch)
		}
		if extra != nil {
			extra(tenant, t, ch)
		}
	}
}

// EventsStored is the callback every event source gets (proxy, ingest,
// tail): the tenants whose events were just committed are evaluated
// within the trigger's debounce.
func (a *App) EventsStored(tenants []string) { a.Trigger.EventsArrived(tenants...) }

// Collectors returns the parts' Prometheus collectors.
func (a *App) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{a.Engine.Collector()}
	if a.Dispatcher != nil {
		out = append(out, a.Dispatcher.Collector())
	}
	return out
}

// Run runs the engine, the event trigger and alerting until ctx ends and
// all of them have returned. The first error (other than ctx's) is
// returned after the others stopped.
func (a *App) Run(ctx context.Context) error {
	type result struct {
		part string
		err  error
	}
	parts := 2
	done := make(chan result, 3)
	go func() { done <- result{"engine", a.Engine.Run(ctx)} }()
	go func() { done <- result{"event trigger", a.Trigger.Run(ctx)} }()
	if a.Dispatcher != nil {
		parts++
		go func() { done <- result{"alerting", a.Dispatcher.Run(ctx)} }()
	}
	var errs []error
	for range parts {
		r := <-done
		if r.err != nil && !errors.Is(r.err, context.Canceled) && ctx.Err() == nil {
			a.log.Error("part stopped", "part", r.part, "error", r.err)
			errs = append(errs, fmt.Errorf("%s: %w", r.part, r.err))
		}
	}
	return errors.Join(errs...)
}

// Close releases the engine's resources (after Run returned).
func (a *App) Close() { a.Engine.Close() }
