package sfmc

import (
	"context"
	"errors"
)

// Budgeted is the outcome of a per-object read that spends at most a given
// number of calls.
type Budgeted[T any] struct {
	Values  map[string]T
	Errors  map[string]error
	Skipped []string // not read: over the call budget, the daily budget, or after a tenant-level failure
	Calls   int
}

// budgeted reads keys in order, one call each, spending at most budget
// calls. A failure that concerns the whole tenant (auth, blocked, rate
// limited, daily budget) stops the round; per-object errors are collected.
func budgeted[T any](ctx context.Context, keys []string, budget int, read func(context.Context, string) (T, error)) (Budgeted[T], error) {
	out := Budgeted[T]{Values: map[string]T{}, Errors: map[string]error{}}
	for i, k := range keys {
		if out.Calls >= budget || ctx.Err() != nil {
			out.Skipped = append(out.Skipped, keys[i:]...)
			break
		}
		out.Calls++
		v, err := read(ctx, k)
		if err != nil {
			if stopsRound(err) {
				out.Skipped = append(out.Skipped, keys[i:]...)
				return out, err
			}
			out.Errors[k] = err
			continue
		}
		out.Values[k] = v
	}
	return out, nil
}

func stopsRound(err error) bool {
	if IsBudget(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch kindOf(err) {
	case KindAuth, KindForbidden, KindBlocked, KindRateLimited, KindTimeout, KindTransport:
		return true
	}
	return false
}
