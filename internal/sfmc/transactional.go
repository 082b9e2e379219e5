package sfmc

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// TransactionalDefinition is a Transactional Messaging e-mail definition.
type TransactionalDefinition struct {
	Key            string
	ID             string
	Name           string
	Status         string // Active, Inactive, Deleted
	Classification string
	ContentKey     string
	JourneyKey     string
	CreatedDate    time.Time
	ModifiedDate   time.Time
}

type restTxDef struct {
	DefinitionKey  string   `json:"definitionKey"`
	DefinitionID   string   `json:"definitionId"`
	Name           string   `json:"name"`
	Status         string   `json:"status"`
	Classification string   `json:"classification"`
	CreatedDate    jsonTime `json:"createdDate"`
	ModifiedDate   jsonTime `json:"modifiedDate"`
	Content        struct {
		CustomerKey string `json:"customerKey"`
	} `json:"content"`
	Journey struct {
		InteractionKey string `json:"interactionKey"`
	} `json:"journey"`
}

func (r restTxDef) def() TransactionalDefinition {
	return TransactionalDefinition{Key: r.DefinitionKey, ID: r.DefinitionID, Name: r.Name, Status: r.Status,
		Classification: r.Classification, ContentKey: r.Content.CustomerKey, JourneyKey: r.Journey.InteractionKey,
		CreatedDate: r.CreatedDate.Time, ModifiedDate: r.ModifiedDate.Time}
}

const epTxDefs = "/messaging/v1/email/definitions"

// TransactionalDefinitions lists e-mail definitions with their status.
func (c *Client) TransactionalDefinitions(ctx context.Context) ([]TransactionalDefinition, error) {
	size := c.pageSize(100)
	var out []TransactionalDefinition
	seen := map[string]bool{}
	err := c.pageLoop(ctx, epTxDefs, size, func(ctx context.Context, page int) (pageInfo, error) {
		var body struct {
			Definitions []restTxDef `json:"definitions"`
			Count       int         `json:"count"`
			PageSize    int         `json:"pageSize"`
		}
		q := url.Values{"$page": {strconv.Itoa(page)}, "$pageSize": {strconv.Itoa(size)}}
		if _, err := c.getJSON(ctx, epTxDefs, scopeEmail, epTxDefs, q, &body); err != nil {
			return pageInfo{}, err
		}
		for _, d := range body.Definitions {
			if seen[d.DefinitionKey] {
				continue
			}
			seen[d.DefinitionKey] = true
			out = append(out, d.def())
		}
		// count is not reliably the total here (observed 1 with 3 items).
		return pageInfo{n: len(body.Definitions), pageSize: body.PageSize}, nil
	})
	return out, err
}

// TransactionalDefinition reads one definition.
func (c *Client) TransactionalDefinition(ctx context.Context, key string) (TransactionalDefinition, error) {
	var r restTxDef
	if _, err := c.getJSON(ctx, epTxDefs+"/{key}", scopeEmail, epTxDefs+"/"+pathEscape(key), nil, &r); err != nil {
		return TransactionalDefinition{}, err
	}
	return r.def(), nil
}

// QueueMetrics is a definition's backlog of accepted, unprocessed messages.
type QueueMetrics struct {
	Count int64
	Age   time.Duration // age of the oldest queued message
}

// TransactionalQueue reads one definition's queue metrics.
func (c *Client) TransactionalQueue(ctx context.Context, key string) (QueueMetrics, error) {
	var r struct {
		Count      float64 `json:"count"`
		AgeSeconds float64 `json:"ageSeconds"`
	}
	if _, err := c.getJSON(ctx, epTxDefs+"/{key}/queue", scopeEmail, epTxDefs+"/"+pathEscape(key)+"/queue", nil, &r); err != nil {
		return QueueMetrics{}, err
	}
	return QueueMetrics{Count: int64(r.Count), Age: time.Duration(r.AgeSeconds * float64(time.Second))}, nil
}

// TransactionalQueues reads queue metrics for at most budget definitions
// (in the order given: put the riskiest — inactive, previously backlogged —
// first). Keys beyond the budget are returned in Skipped.
func (c *Client) TransactionalQueues(ctx context.Context, keys []string, budget int) (Budgeted[QueueMetrics], error) {
	return budgeted(ctx, keys, budget, c.TransactionalQueue)
}

// NotSentEvent is one transactional message that was not sent.
type NotSentEvent struct {
	EventID       int64
	DefinitionKey string
	MessageKey    string
	StatusCode    int
	StatusMessage string
	Time          time.Time
}

// NotSentPage is one page of the not-sent feed; pass LastEventID back as the cursor.
type NotSentPage struct {
	Events      []NotSentEvent
	LastEventID int64
}

// TransactionalNotSent reads the not-sent feed after cursor lastEventID (0:
// from the start of retention), following pages up to maxPages (0: 1).
func (c *Client) TransactionalNotSent(ctx context.Context, lastEventID int64, pageSize, maxPages int) (NotSentPage, error) {
	const ep = "/messaging/v1/email/messages/"
	if pageSize <= 0 {
		pageSize = 500
	}
	if maxPages <= 0 {
		maxPages = 1
	}
	out := NotSentPage{LastEventID: lastEventID}
	for p := 0; p < maxPages; p++ {
		// The not-sent feed documents $pagesize (lower case), unlike the
		// classic list endpoints' $pageSize.
		q := url.Values{"type": {"notSent"}, "$pagesize": {strconv.Itoa(pageSize)}}
		if out.LastEventID > 0 {
			q.Set("lastEventId", strconv.FormatInt(out.LastEventID, 10))
		}
		var r struct {
			LastEventID int64 `json:"lastEventID"`
			Count       int   `json:"count"`
			Messages    []struct {
				StatusCode    int      `json:"statusCode"`
				StatusMessage string   `json:"statusMessage"`
				Timestamp     jsonTime `json:"timestamp"`
				DefinitionKey string   `json:"definitionKey"`
				EventID       int64    `json:"eventID"`
				Info          struct {
					MessageKey string `json:"messageKey"`
				} `json:"info"`
			} `json:"messages"`
		}
		if _, err := c.getFeed(ctx, ep, scopeEmail, ep, q, &r); err != nil {
			return out, err
		}
		for _, m := range r.Messages {
			out.Events = append(out.Events, NotSentEvent{EventID: m.EventID, DefinitionKey: m.DefinitionKey, MessageKey: m.Info.MessageKey,
				StatusCode: m.StatusCode, StatusMessage: m.StatusMessage, Time: m.Timestamp.Time})
		}
		if r.LastEventID <= out.LastEventID || len(r.Messages) < pageSize {
			if r.LastEventID > out.LastEventID {
				out.LastEventID = r.LastEventID
			}
			return out, nil
		}
		out.LastEventID = r.LastEventID
	}
	return out, nil
}

// MessageStatus is the latest event for one transactional message.
type MessageStatus struct {
	EventType     string // TransactionalSendEvents.EmailSent / EmailQueued / EmailNotSent
	Time          time.Time
	MessageKey    string
	StatusCode    int
	StatusMessage string
}

// TransactionalMessage reads one message's status by messageKey.
func (c *Client) TransactionalMessage(ctx context.Context, messageKey string) (MessageStatus, error) {
	var r struct {
		EventCategoryType string   `json:"eventCategoryType"`
		Timestamp         jsonTime `json:"timestamp"`
		Info              struct {
			MessageKey    string `json:"messageKey"`
			StatusCode    int    `json:"statusCode"`
			StatusMessage string `json:"statusMessage"`
		} `json:"info"`
	}
	if _, err := c.getFeed(ctx, "/messaging/v1/email/messages/{messageKey}", scopeEmail,
		"/messaging/v1/email/messages/"+pathEscape(messageKey), nil, &r); err != nil {
		return MessageStatus{}, err
	}
	m := MessageStatus{EventType: r.EventCategoryType, Time: r.Timestamp.Time, MessageKey: r.Info.MessageKey,
		StatusCode: r.Info.StatusCode, StatusMessage: r.Info.StatusMessage}
	if m.MessageKey == "" {
		m.MessageKey = messageKey
	}
	return m, nil
}
