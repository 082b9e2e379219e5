package sim

import (
	"net/http"
	"strings"
	"time"
)

type txListItem struct {
	Name          string `json:"name"`
	DefinitionKey string `json:"definitionKey"`
	Status        string `json:"status"`
	CreatedDate   string `json:"createdDate"`
	ModifiedDate  string `json:"modifiedDate"`
}

// GET /messaging/v1/email/definitions?$page&$pageSize&$filter=status eq 'Active'
func (s *Sim) handleTxDefinitions(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	want := ""
	if f := queryStr(r, "$filter"); f != "" {
		if _, v, ok := strings.Cut(f, " eq "); ok {
			want = strings.Trim(strings.TrimSpace(v), "'\"")
		}
	}
	var sel []txListItem
	for _, tx := range t.TxDefs {
		st := s.txState(t, tx, now).Status
		if want != "" && !strings.EqualFold(st, want) {
			continue
		}
		sel = append(sel, txListItem{tx.Name, tx.Key, st, fmtREST(tx.Created.Truncate(time.Minute)), fmtREST(tx.Modified.Truncate(time.Minute))})
	}
	page, size, lo, hi := pageBounds(r, len(sel), 50, 50)
	items := sel[lo:hi]
	if items == nil {
		items = []txListItem{}
	}
	writeJSON(w, http.StatusOK, struct {
		RequestID   string       `json:"requestId"`
		Definitions []txListItem `json:"definitions"`
		Count       int          `json:"count"`
		Page        int          `json:"page"`
		PageSize    int          `json:"pageSize"`
	}{hashGUID(uint64(now.UnixNano()), 1), items, len(sel), page, size})
}

func (t *tenant) findTx(key string) *txDefinition {
	return t.txByKey[strings.ToLower(strings.TrimPrefix(key, "key:"))]
}

// GET /messaging/v1/email/definitions/{key}
func (s *Sim) handleTxDefinition(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	tx := t.findTx(r.PathValue("key"))
	if tx == nil {
		restError(w, http.StatusNotFound, 30003, "MCMS_UTM_Runtime_ObjectNotFound: Definition not found")
		return
	}
	type content struct {
		CustomerKey string `json:"customerKey"`
	}
	type subs struct {
		List              string `json:"list"`
		DataExtension     string `json:"dataExtension,omitempty"`
		AutoAddSubscriber bool   `json:"autoAddSubscriber"`
		UpdateSubscriber  bool   `json:"updateSubscriber"`
	}
	type options struct {
		TrackLinks bool `json:"trackLinks"`
	}
	type jref struct {
		InteractionKey string `json:"interactionKey"`
	}
	writeJSON(w, http.StatusOK, struct {
		RequestID      string  `json:"requestId"`
		Name           string  `json:"name"`
		DefinitionKey  string  `json:"definitionKey"`
		DefinitionID   string  `json:"definitionId"`
		Description    string  `json:"description"`
		Classification string  `json:"classification"`
		Status         string  `json:"status"`
		CreatedDate    string  `json:"createdDate"`
		ModifiedDate   string  `json:"modifiedDate"`
		Content        content `json:"content"`
		Subscriptions  subs    `json:"subscriptions"`
		Options        options `json:"options"`
		Journey        jref    `json:"journey"`
	}{hashGUID(uint64(now.UnixNano()), 2), tx.Name, tx.Key, tx.DefinitionID, tx.Description, tx.Classification,
		s.txState(t, tx, now).Status, fmtREST(tx.Created.Truncate(time.Minute)), fmtREST(tx.Modified.Truncate(time.Minute)),
		content{tx.ContentKey}, subs{tx.ListName, tx.DEKey, true, true}, options{true}, jref{tx.JourneyKey}})
}

// GET /messaging/v1/email/definitions/{key}/queue
func (s *Sim) handleTxQueue(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	tx := t.findTx(r.PathValue("key"))
	if tx == nil {
		restError(w, http.StatusNotFound, 30003, "MCMS_UTM_Runtime_ObjectNotFound: Definition not found")
		return
	}
	q := s.txState(t, tx, now)
	writeJSON(w, http.StatusOK, struct {
		RequestID  string `json:"requestId"`
		Count      int64  `json:"count"`
		AgeSeconds int64  `json:"ageSeconds"`
	}{hashGUID(uint64(now.UnixNano()), 3), q.Count, q.Age})
}

type notSentMsg struct {
	StatusCode        int    `json:"statusCode"`
	StatusMessage     string `json:"statusMessage"`
	EventCategoryType string `json:"eventCategoryType"`
	Timestamp         string `json:"timestamp"`
	DefinitionKey     string `json:"definitionKey"`
	EventID           int64  `json:"eventID"`
	Info              struct {
		MessageKey string `json:"messageKey"`
	} `json:"info"`
}

// GET /messaging/v1/email/messages/?type=notSent&$pagesize=&lastEventId=
func (s *Sim) handleNotSent(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	if typ := queryStr(r, "type"); !strings.EqualFold(typ, "notSent") {
		restError(w, http.StatusBadRequest, 10005, "MCMS_UTM_Validation_InvalidValue: type must be notSent")
		return
	}
	size := queryInt(r, 100, "$pagesize", "$pageSize")
	size = max(1, min(size, 500))
	after := int64(queryInt(r, 0, "lastEventId", "lastEventID"))
	evs := s.notSentEvents(t, after, size, now)
	msgs := make([]notSentMsg, 0, len(evs))
	last := after
	for _, e := range evs {
		m := notSentMsg{StatusCode: e.StatusCode, StatusMessage: e.Message, EventCategoryType: "TransactionalSendEvents.EmailNotSent",
			Timestamp: fmtREST(e.At), DefinitionKey: e.Def.Key, EventID: e.ID}
		m.Info.MessageKey = e.MessageKey
		msgs = append(msgs, m)
		last = e.ID
	}
	writeJSON(w, http.StatusOK, struct {
		LastEventID int64        `json:"lastEventID"`
		Messages    []notSentMsg `json:"messages"`
		Count       int          `json:"count"`
	}{last, msgs, len(msgs)})
}
