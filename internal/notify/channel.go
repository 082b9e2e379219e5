package notify

import (
	"context"
	"errors"
)

// Channel is one named channel of a receiver ("slack", "email", …). The
// outbox stores a message once per channel of its receiver, under the
// channel's Name, so each channel is retried, backed off and given up on
// its own and a channel that succeeded is not sent the message again.
type Channel struct {
	Name string
	Notifier
}

// FanOut returns a Notifier that sends to every channel in turn (one
// channel: that channel). It fails when any channel fails: retryable if
// any failure is, so a retry repeats the send to the channels that had
// succeeded. The dispatcher only uses it for outbox rows without a
// channel (enqueued before per-channel delivery) and test-alert uses it
// to try a whole receiver.
func FanOut(chs ...Channel) Notifier {
	if len(chs) == 1 {
		return chs[0].Notifier
	}
	return fanout(chs)
}

type fanout []Channel

func (f fanout) Notify(ctx context.Context, m *Message) error {
	var (
		errs  []error
		retry bool
	)
	for _, c := range f {
		if err := c.Notify(ctx, m); err != nil {
			errs = append(errs, err)
			retry = retry || IsRetryable(err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &Error{Channel: "fan-out", Retry: retry, Err: errors.Join(errs...)}
}
