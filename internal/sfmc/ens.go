package sfmc

import "context"

// ENSSubscription is an Event Notification Service subscription (read-only view).
type ENSSubscription struct {
	ID           string
	Name         string
	CallbackID   string
	CallbackName string
	URL          string
	EventTypes   []string
	Filters      []string
	Status       string // active, paused, …
	StatusReason string
	MaxBatchSize int
}

// ENSSubscriptions lists the subscriptions of a callback (is push delivery
// still active?).
func (c *Client) ENSSubscriptions(ctx context.Context, callbackID string) ([]ENSSubscription, error) {
	var r []struct {
		CallbackID         string   `json:"callbackId"`
		CallbackName       string   `json:"callbackName"`
		URL                string   `json:"url"`
		MaxBatchSize       int      `json:"maxBatchSize"`
		SubscriptionID     string   `json:"subscriptionId"`
		SubscriptionName   string   `json:"subscriptionName"`
		EventCategoryTypes []string `json:"eventCategoryTypes"`
		Filters            []string `json:"filters"`
		Status             string   `json:"status"`
		StatusReason       string   `json:"statusReason"`
	}
	if _, err := c.getFeed(ctx, "/platform/v1/ens-subscriptions-by-cb/{callbackId}", "event_notification_subscription_read",
		"/platform/v1/ens-subscriptions-by-cb/"+pathEscape(callbackID), nil, &r); err != nil {
		return nil, err
	}
	out := make([]ENSSubscription, 0, len(r))
	for _, s := range r {
		out = append(out, ENSSubscription{ID: s.SubscriptionID, Name: s.SubscriptionName, CallbackID: s.CallbackID,
			CallbackName: s.CallbackName, URL: s.URL, EventTypes: s.EventCategoryTypes, Filters: s.Filters, Status: s.Status,
			StatusReason: s.StatusReason, MaxBatchSize: s.MaxBatchSize})
	}
	return out, nil
}
