package notify_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
)

// A send slower than the outbox lease keeps its lease (renewed every
// third of it), so another replica never sends the same row meanwhile.
func TestSlowSendKeepsItsLease(t *testing.T) {
	recv, srv := newCountingReceiver(t)
	recv.hold = make(chan struct{})
	db := filepath.Join(t.TempDir(), "lease.db")
	st, st2 := openStore(t, db), openStore(t, db)
	cfg, err := config.Parse("t.yaml", []byte(webhookConfig(srv.URL)), nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(s notify.Store, name string) *notify.Dispatcher {
		d, err := notify.New(notify.Options{Store: s, Config: config.NewHolder(cfg, config.Loader{}), Clock: time.Now,
			Build: channels.Builder(channels.Options{Clock: time.Now}), Instance: name, LeaseFor: 1500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := mk(st, "replica-a"), mk(st2, "replica-b")
	openIncident(t, st, "slow", time.Now().Add(-time.Minute))
	if _, err := a.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = a.Deliver(t.Context()) })
	<-recv.got // a is sending; the receiver holds it
	time.Sleep(2500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	_, _ = b.Deliver(ctx) // a send by b would reach the (holding) receiver
	cancel()
	if total, _ := recv.counts(); total != 1 {
		t.Errorf("%d sends reached the receiver while a's send was still running, want 1", total)
	}
	close(recv.hold)
	wg.Wait()
	if total, _ := recv.counts(); total != 1 {
		t.Fatalf("%d deliveries, want 1", total)
	}
}
