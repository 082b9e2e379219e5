package sim

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Activity object type ids as Automation Studio reports them.
const (
	objQuery        = 300
	objImport       = 43
	objEmailSend    = 42
	objScript       = 423
	objDataExtract  = 73
	objFileTransfer = 53
)

var activityTypeNames = map[int]string{
	objQuery:        "QueryDefinition",
	objImport:       "ImportDefinition",
	objEmailSend:    "EmailSendDefinition",
	objScript:       "SSJSActivity",
	objDataExtract:  "DataExtractActivity",
	objFileTransfer: "FileTransferActivity",
}

type tenant struct {
	MID         int64
	Name        string
	Epoch       time.Time
	Automations []*automation
	Journeys    []*journey
	DEs         []*dataExtension
	TSDs        []*triggeredSend
	TxDefs      []*txDefinition
	Imports     []*importDef
	Users       []user

	autoByID   map[string]*automation
	autoByKey  map[string]*automation
	autoLegacy map[string]*automation
	journeyBy  map[string]*journey
	deByKey    map[string]*dataExtension
	txByKey    map[string]*txDefinition
	importByID map[string]*importDef
}

type user struct {
	ID       int64
	Name     string
	UserName string
	Email    string
	LegacyID string
}

type schedule struct {
	Interval time.Duration
	First    time.Time // first run
	ICal     string
	TypeID   int
	Pattern  string
}

type activity struct {
	ID, ObjectID, Name string
	ObjectTypeID       int
	Step               int
	Order              int
	TargetDE           *dataExtension
}

type automation struct {
	idx         int
	ID          string
	LegacyID    string
	Key         string
	Name        string
	Description string
	CategoryID  int
	Type        string // scheduled, triggered, unspecified
	TypeID      int
	BaseStatus  int
	Created     time.Time
	Modified    time.Time
	CreatedBy   user
	ModifiedBy  user
	Sched       *schedule // nil for unspecified
	ScheduleID  string
	RunTime     time.Duration // typical run duration
	FlakyRate   float64       // chance a run errors without a fault
	Activities  []activity
	Steps       int
	NotifyEmail string
}

type journey struct {
	idx            int
	ID, Key, Name  string
	Description    string
	Version        int
	DefinitionType string
	EntryMode      string
	Channel        string
	BaseStatus     string
	Created        time.Time
	Modified       time.Time
	Published      time.Time
	CategoryID     int
	RatePerHour    float64
	BasePopulation int64
	EventDefID     string
	EventDefKey    string
	EntryDE        *dataExtension
	EmailName      string
	User           user
	StopAt         time.Time // baseline Stopped journeys: when
}

type deField struct {
	Name      string
	Type      string
	MaxLength int
	Scale     int
	Required  bool
	PK        bool
	Default   string
	ObjectID  string
}

type dataExtension struct {
	idx         int
	ObjectID    string
	Key, Name   string
	Description string
	CategoryID  int
	Sendable    bool
	Created     time.Time
	Modified    time.Time
	Fields      []deField
	BaseRows    int64
	LoadEvery   time.Duration // refresh cadence
	GrowthLoad  int64         // rows added per load
	FirstLoad   time.Time
	Retention   bool
}

type triggeredSend struct {
	idx          int
	ObjectID     string
	Key, Name    string
	Description  string
	EmailID      int
	Subject      string
	FromName     string
	FromAddress  string
	BaseStatus   string
	Created      time.Time
	Modified     time.Time
	CategoryID   int
	RatePerHour  float64
	ErrRate      float64 // baseline fraction not sent due to error
	ClassKey     string
	ClassID      string
	ProfileKey   string
	ProfileID    string
	TriggerType  string
	PriorityCode int
}

type txDefinition struct {
	idx            int
	Key, Name      string
	DefinitionID   string
	Description    string
	Classification string
	Created        time.Time
	Modified       time.Time
	ContentKey     string
	ListName       string
	DEKey          string
	JourneyKey     string
	RatePerHour    float64
	NotSentRate    float64 // baseline not-sent events per hour
}

type importDef struct {
	idx              int
	ID               string
	Key, Name        string
	Description      string
	Target           *dataExtension
	FileNamePattern  string
	LocationID       string
	LocationName     string
	UpdateTypeID     int
	Every            time.Duration
	First            time.Time
	Created          time.Time
	Modified         time.Time
	RowsPerRun       int64
	AllowErrors      bool
	FieldMappingType string
}

// ---------------------------------------------------------------- generation

type gen struct {
	r *rand.Rand
}

func (g *gen) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return g.r.IntN(n)
}
func (g *gen) pick(xs []string) string { return xs[g.intn(len(xs))] }
func (g *gen) chance(p float64) bool   { return g.r.Float64() < p }

func (g *gen) guid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// legacyID mimics the base64 ids of the legacy automation API.
func (g *gen) legacyID(kind int) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for range 22 {
		b.WriteByte(alpha[g.intn(len(alpha))])
	}
	return base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:0", b.String(), kind))
}

func (g *gen) between(from, to time.Time) time.Time {
	span := to.Sub(from)
	if span <= 0 {
		return from
	}
	return from.Add(time.Duration(g.r.Int64N(int64(span)))).Truncate(time.Millisecond)
}

type uniq map[string]int

func (u uniq) name(s string) string {
	u[s]++
	if n := u[s]; n > 1 {
		return fmt.Sprintf("%s %d", s, n)
	}
	return s
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "David", "Elif", "Farah", "Georg", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nora", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tara"}
	lastNames  = []string{"Schmidt", "Okafor", "Martin", "Rossi", "Nakamura", "Kowalski", "García", "Johansson", "Dubois", "Patel", "Müller", "Novak", "Silva", "Brown", "Jensen"}

	deEntities = []string{"Subscribers", "Customers", "Orders", "Order_Lines", "Products", "Loyalty_Points", "Cart_Abandon", "Browse_Events", "Preferences", "Store_Visits", "Returns", "Reviews", "Leads", "Accounts", "Cases", "Web_Signups", "Vouchers", "Shipments", "Bookings", "Renewals", "Survey_Responses", "App_Users", "Push_Tokens", "Unsubscribes", "Bounces", "Segments", "Birthdays", "Tier_Changes", "Price_Alerts", "Back_In_Stock"}
	deSuffixes = []string{"Master", "Daily", "Staging", "Delta", "Entry", "Archive", "Sendable", "Export", "Work", "History", "Final", "Audience"}
	deRegions  = []string{"", "", "", "UK", "DE", "FR", "US", "NL", "ES", "IT", "Nordics", "APAC"}

	autoSystems = []string{"CRM", "ERP", "Orders", "Loyalty", "Web Analytics", "Product Catalog", "POS", "Preference Center", "Data Lake", "Service Cloud", "Billing", "Inventory", "Consent", "App Events", "Stores", "Vouchers", "Reviews", "Leads"}
	autoActions = []string{"Sync", "Import", "Refresh", "Audience Build", "Export", "Cleanup", "Segmentation", "Deduplication", "Enrichment", "Suppression Update", "Feed", "Reconciliation"}

	journeyNames    = []string{"Welcome Journey", "Abandoned Cart Reminder", "Browse Abandonment", "Birthday Rewards", "Win-Back Lapsed Customers", "Post-Purchase Review Request", "Loyalty Tier Upgrade", "Onboarding Series", "Renewal Reminder", "Back In Stock Alert", "Price Drop Alert", "Re-Engagement Campaign", "Event Invitation", "Survey Follow-Up", "Cross-Sell Recommendations", "Subscription Expiry", "App Download Nudge", "Store Opening", "Account Activation", "Preference Update Confirmation"}
	journeyVariants = []string{"", "", "UK", "DE", "FR", "US", "v2", "B2B", "Gold Members", "EN", "Test"}

	tsNames = []string{"Password Reset", "Order Confirmation", "Shipping Notification", "Delivery Update", "Account Verification", "Double Opt-In", "Return Received", "Refund Issued", "Invoice Available", "Appointment Reminder", "Booking Confirmation", "Payment Failed", "Subscription Renewed", "Welcome Email", "Unsubscribe Confirmation", "Voucher Issued", "Review Request", "Back In Stock", "Wishlist Reminder", "Profile Updated"}
	txNames = []string{"Password Reset", "Order Confirmation", "Shipping Notification", "Two-Factor Code", "Email Verification", "Receipt", "Payment Failed", "Account Locked", "Magic Login Link", "Delivery Slot Confirmed", "Click And Collect Ready", "Refund Processed", "Booking Changed", "Gift Card Delivered", "Support Ticket Update"}

	fileLocations = []string{"ExactTarget Enhanced FTP", "Azure Blob Exports", "AWS S3 Inbound", "SFTP Partner Drop"}

	statusMessages = map[int][]string{
		objQuery:        {"Query failed: Invalid column name 'EmailAddress'.", "An error occurred while checking the query syntax. Errors: Incorrect syntax near 'FROM'.", "Violation of PRIMARY KEY constraint. Cannot insert duplicate key in object.", "Query timed out after 30 minutes."},
		objImport:       {"File not found: the import file matching the naming pattern was not found in the file location.", "Import failed: 412 rows rejected (Invalid email address).", "The column 'SubscriberKey' is required but was not provided."},
		objEmailSend:    {"The email send failed: no subscribers found in the sendable data extension.", "Send classification is invalid or inactive."},
		objScript:       {"Script Activity failed: TypeError: Cannot read property 'Rows' of undefined.", "Script Activity failed: the request timed out."},
		objDataExtract:  {"Data extract failed: no data found for the date range.", "Data extract failed: The extract exceeded the maximum file size."},
		objFileTransfer: {"File transfer failed: could not connect to the remote host.", "File transfer failed: authentication to the SFTP server failed."},
	}
)

func (g *gen) person() user {
	f, l := g.pick(firstNames), g.pick(lastNames)
	un := strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, f)) + "." + strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, l))
	return user{ID: 700000000 + int64(g.intn(99999999)), Name: f + " " + l, UserName: un, Email: un + "@example.com", LegacyID: g.legacyID(4)}
}

var systemUser = user{ID: -1000, Name: "System", LegacyID: "LTEwMDA6NDow"}

// generate builds one deterministic tenant.
func generate(seed int64, mid int64, size Size, start time.Time) *tenant {
	g := &gen{r: rand.New(rand.NewPCG(uint64(seed), uint64(mid)))}
	t := &tenant{
		MID:        mid,
		Name:       fmt.Sprintf("Sim BU %d", mid),
		Epoch:      start.Add(-180 * 24 * time.Hour).Truncate(24 * time.Hour),
		autoByID:   map[string]*automation{},
		autoByKey:  map[string]*automation{},
		autoLegacy: map[string]*automation{},
		journeyBy:  map[string]*journey{},
		deByKey:    map[string]*dataExtension{},
		txByKey:    map[string]*txDefinition{},
		importByID: map[string]*importDef{},
	}
	for range 12 {
		t.Users = append(t.Users, g.person())
	}
	recent := start.Add(-7 * 24 * time.Hour)

	// Data extensions first: other objects point at them.
	names := uniq{}
	for i := range size.DataExtensions {
		region := g.pick(deRegions)
		n := "DE_" + g.pick(deEntities) + "_" + g.pick(deSuffixes)
		if region != "" {
			n += "_" + region
		}
		n = strings.ReplaceAll(names.name(n), " ", "_")
		created := g.between(t.Epoch, recent)
		de := &dataExtension{
			idx: i, ObjectID: g.guid(), Key: n, Name: n,
			Description: g.pick([]string{"", "", "Loaded by automation", "Do not delete - used by journeys", "Staging table", "Owned by data engineering"}),
			CategoryID:  1000 + g.intn(40), Sendable: g.chance(0.6), Created: created,
			Modified: g.between(created, recent), Retention: g.chance(0.2),
		}
		de.Fields = g.fields(de)
		de.BaseRows = int64(g.r.ExpFloat64() * 40000)
		if g.chance(0.05) {
			de.BaseRows = 0
		}
		de.LoadEvery = []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}[g.intn(5)]
		de.GrowthLoad = int64(g.intn(500))
		de.FirstLoad = created.Add(time.Duration(g.intn(60)) * time.Minute).Truncate(time.Minute)
		t.DEs = append(t.DEs, de)
		t.deByKey[strings.ToLower(de.Key)] = de
	}
	anyDE := func() *dataExtension {
		if len(t.DEs) == 0 {
			return nil
		}
		return t.DEs[g.intn(len(t.DEs))]
	}

	// Automations.
	names = uniq{}
	type cadence struct {
		every time.Duration
		words []string
		ical  string
		typ   int
		pat   string
	}
	cadences := []cadence{
		{15 * time.Minute, []string{"Near-Realtime", "15-Min"}, "FREQ=MINUTELY;INTERVAL=15", 1, "<Pattern><PatternType>0</PatternType><MinuteInterval>15</MinuteInterval></Pattern>"},
		{time.Hour, []string{"Hourly"}, "FREQ=HOURLY;INTERVAL=1", 2, "<Pattern><PatternType>0</PatternType><HourInterval>1</HourInterval></Pattern>"},
		{4 * time.Hour, []string{"Intraday", "4-Hourly"}, "FREQ=HOURLY;INTERVAL=4", 2, "<Pattern><PatternType>0</PatternType><HourInterval>4</HourInterval></Pattern>"},
		{24 * time.Hour, []string{"Nightly", "Daily", "Morning"}, "FREQ=DAILY;INTERVAL=1", 3, "<Pattern><PatternType>0</PatternType><DayInterval>1</DayInterval></Pattern>"},
		{7 * 24 * time.Hour, []string{"Weekly"}, "FREQ=WEEKLY;INTERVAL=1", 4, "<Pattern><PatternType>0</PatternType><WeekInterval>1</WeekInterval></Pattern>"},
	}
	for i := range size.Automations {
		a := &automation{idx: i, ID: g.guid(), LegacyID: g.legacyID(25), CategoryID: 290000 + g.intn(100)}
		roll := g.r.Float64()
		var c cadence
		switch {
		case roll < 0.05:
			c = cadences[0]
		case roll < 0.35:
			c = cadences[1]
		case roll < 0.45:
			c = cadences[2]
		case roll < 0.9:
			c = cadences[3]
		default:
			c = cadences[4]
		}
		kind := g.r.Float64()
		switch {
		case kind < 0.85:
			a.Type, a.TypeID, a.BaseStatus = "scheduled", 1, 6
			a.Name = names.name(g.pick(c.words) + " " + g.pick(autoSystems) + " " + g.pick(autoActions))
		case kind < 0.95:
			a.Type, a.TypeID, a.BaseStatus = "triggered", 2, 7
			c = cadences[2+g.intn(2)]
			a.Name = names.name("File Drop " + g.pick(autoSystems) + " " + g.pick(autoActions))
		default:
			a.Type, a.TypeID, a.BaseStatus = "unspecified", 0, 2
			a.Name = names.name("Adhoc " + g.pick(autoSystems) + " " + g.pick(autoActions))
		}
		a.Key = slug(a.Name)
		if g.chance(0.3) {
			a.Key = g.guid()
		}
		a.Description = g.pick([]string{"", "", "Owned by data engineering", "Feeds the journeys", "Do not pause without telling CRM team", "Migrated from legacy ETL"})
		a.Created = g.between(t.Epoch, recent)
		a.Modified = g.between(a.Created, recent)
		a.CreatedBy = t.Users[g.intn(len(t.Users))]
		a.ModifiedBy = t.Users[g.intn(len(t.Users))]
		if g.chance(0.15) {
			a.ModifiedBy = systemUser
		}
		if a.Type != "unspecified" {
			first := a.Created.Truncate(time.Hour).Add(time.Hour + time.Duration(g.intn(4))*15*time.Minute)
			if c.every >= 24*time.Hour {
				first = a.Created.Truncate(24 * time.Hour).Add(24*time.Hour + time.Duration(1+g.intn(6))*time.Hour + time.Duration(g.intn(4))*15*time.Minute)
			}
			a.Sched = &schedule{Interval: c.every, First: first, ICal: c.ical + ";UNTIL=20790606T080000", TypeID: c.typ, Pattern: c.pat}
			a.ScheduleID = g.guid()
		}
		if a.Type == "scheduled" && g.chance(0.03) {
			a.BaseStatus = 4 // paused long ago by someone
		}
		a.RunTime = time.Duration(30+g.intn(12*60)) * time.Second
		if c.every > 0 && a.RunTime > c.every/2 {
			a.RunTime = c.every / 2
		}
		if g.chance(0.04) {
			a.FlakyRate = 0.05
		}
		a.Steps = 1 + g.intn(3)
		types := []int{objQuery, objQuery, objQuery, objImport, objImport, objEmailSend, objScript, objDataExtract, objFileTransfer}
		for s := 1; s <= a.Steps; s++ {
			for o := 1; o <= 1+g.intn(2); o++ {
				ot := types[g.intn(len(types))]
				act := activity{ID: g.guid(), ObjectID: g.guid(), ObjectTypeID: ot, Step: s, Order: o}
				switch ot {
				case objQuery, objImport:
					act.TargetDE = anyDE()
				}
				base := strings.ReplaceAll(strings.ToUpper(slug(a.Name)), "_", "_")
				switch ot {
				case objQuery:
					act.Name = "SQL_" + base + fmt.Sprintf("_%d", s*10+o)
				case objImport:
					act.Name = "IMP_" + base + fmt.Sprintf("_%d", s*10+o)
				case objEmailSend:
					act.Name = "ESD_" + base
				case objScript:
					act.Name = "SSJS_" + base
				case objDataExtract:
					act.Name = "EXTRACT_" + base
				case objFileTransfer:
					act.Name = "FT_" + base
				}
				a.Activities = append(a.Activities, act)
			}
		}
		p := t.Users[g.intn(len(t.Users))]
		a.NotifyEmail = p.Email
		t.Automations = append(t.Automations, a)
		t.autoByID[strings.ToLower(a.ID)] = a
		t.autoByKey[strings.ToLower(a.Key)] = a
		t.autoLegacy[a.LegacyID] = a
	}

	// Journeys.
	names = uniq{}
	for i := range size.Journeys {
		n := g.pick(journeyNames)
		if v := g.pick(journeyVariants); v != "" {
			n += " - " + v
		}
		n = names.name(n)
		j := &journey{idx: i, ID: g.guid(), Key: g.guid(), Name: n, Version: 1 + g.intn(6), CategoryID: 6000 + g.intn(300)}
		if g.chance(0.4) {
			j.Key = slug(n)
		}
		switch r := g.r.Float64(); {
		case r < 0.82:
			j.DefinitionType, j.EntryMode, j.Channel = "Multistep", g.pick([]string{"MultipleEntries", "NotSet", "OnceAndDone", "SingleEntryAcrossAllVersions"}), ""
		case r < 0.92:
			j.DefinitionType, j.EntryMode, j.Channel = "Transactional", "MultipleEntries", "email"
		default:
			j.DefinitionType, j.EntryMode, j.Channel = "Quicksend", "MultipleEntries", "email"
		}
		switch r := g.r.Float64(); {
		case r < 0.72:
			j.BaseStatus = "Published"
		case r < 0.86:
			j.BaseStatus = "Draft"
		case r < 0.95:
			j.BaseStatus = "Stopped"
		default:
			j.BaseStatus = "Unpublished"
		}
		j.Created = g.between(t.Epoch, recent)
		j.Published = g.between(j.Created, recent).Truncate(time.Second)
		j.Modified = j.Published
		if j.BaseStatus == "Draft" {
			j.Modified = g.between(j.Created, recent)
		}
		if j.BaseStatus == "Stopped" || j.BaseStatus == "Unpublished" {
			j.StopAt = g.between(j.Published, recent)
		}
		j.RatePerHour = g.r.ExpFloat64() * 40
		if j.BaseStatus == "Published" && j.RatePerHour < 1 {
			j.RatePerHour = 1 + g.r.Float64()*4
		}
		j.BasePopulation = int64(g.intn(5000))
		j.EventDefID = g.guid()
		j.EventDefKey = "DEAudience-" + g.guid()
		j.EntryDE = anyDE()
		j.EmailName = strings.ReplaceAll(n, " ", "_") + "_Email_1"
		j.User = t.Users[g.intn(len(t.Users))]
		t.Journeys = append(t.Journeys, j)
		t.journeyBy[strings.ToLower(j.ID)] = j
		t.journeyBy["key:"+strings.ToLower(j.Key)] = j
	}

	// Triggered sends.
	names = uniq{}
	for i := range size.TriggeredSends {
		base := g.pick(tsNames)
		v := g.pick([]string{"", "", "UK", "DE", "FR", "US", "Brand B"})
		n := "TS_" + strings.ReplaceAll(base, " ", "_")
		if v != "" {
			n += "_" + strings.ReplaceAll(v, " ", "_")
		}
		n = strings.ReplaceAll(names.name(n), " ", "_")
		ts := &triggeredSend{idx: i, ObjectID: g.guid(), Key: n, Name: n, Description: base + " email",
			EmailID: 100000 + g.intn(900000), Subject: base, FromName: g.pick([]string{"Customer Service", "Your Shop", "Accounts Team", "Bookings"}),
			FromAddress: g.pick([]string{"service", "noreply", "accounts", "hello"}) + "@mail.example.com",
			BaseStatus:  "Active", CategoryID: 89000 + g.intn(400), ClassKey: "Default Transactional", ClassID: g.guid(),
			ProfileKey: "Default", ProfileID: g.guid(), TriggerType: "Continuous", PriorityCode: 4}
		switch r := g.r.Float64(); {
		case r < 0.08:
			ts.BaseStatus = "Inactive"
		case r < 0.11:
			ts.BaseStatus = "New"
		case r < 0.13:
			ts.BaseStatus = "Canceled"
		}
		ts.Created = g.between(t.Epoch, recent)
		ts.Modified = g.between(ts.Created, recent)
		ts.RatePerHour = g.r.ExpFloat64() * 60
		ts.ErrRate = 0.002 * g.r.Float64()
		t.TSDs = append(t.TSDs, ts)
	}

	// Transactional definitions.
	names = uniq{}
	for i := range size.Transactional {
		base := g.pick(txNames)
		n := names.name(base)
		key := strings.ToLower(slug(n))
		tx := &txDefinition{idx: i, Key: key, Name: n, DefinitionID: g.guid(), Description: base + " (transactional API)",
			Classification: "Default Transactional", ContentKey: key + "_content", ListName: "All Subscribers - " + fmt.Sprint(100+g.intn(900)),
			JourneyKey: key, RatePerHour: 5 + g.r.ExpFloat64()*100, NotSentRate: g.r.Float64() * 0.5}
		if de := anyDE(); de != nil {
			tx.DEKey = de.Key
		}
		tx.Created = g.between(t.Epoch, recent)
		tx.Modified = g.between(tx.Created, recent)
		t.TxDefs = append(t.TxDefs, tx)
		t.txByKey[strings.ToLower(tx.Key)] = tx
	}

	// Imports. A tenant has a few file transfer locations, each with one
	// id; one partner's files (the imports of one entity: orders,
	// accounts, ...) arrive in one of them.
	locationIDs := map[string]string{}    // location name → id
	entityLocation := map[string]string{} // entity → location name
	for i := range size.Imports {
		target := anyDE()
		im := &importDef{idx: i, ID: g.guid(), LocationID: g.guid(), LocationName: g.pick(fileLocations),
			UpdateTypeID: []int{0, 0, 1, 4}[g.intn(4)], AllowErrors: g.chance(0.5), RowsPerRun: 100 + int64(g.intn(50000)),
			FieldMappingType: g.pick([]string{"InferFromColumnHeadings", "InferFromColumnHeadings", "MapByOrdinal", "ManualMap"})}
		// The random draws above stay as they were (the rest of the
		// tenant is generated from the same sequence); the location is
		// then the entity's and the id the location's.
		if target != nil {
			ent := deEntity(target.Name)
			if name, ok := entityLocation[ent]; ok {
				im.LocationName = name
			}
			entityLocation[ent] = im.LocationName
		}
		if id, ok := locationIDs[im.LocationName]; ok {
			im.LocationID = id
		}
		locationIDs[im.LocationName] = im.LocationID
		im.Every = []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour, 24 * time.Hour}[g.intn(4)]
		if target != nil {
			im.Target = target
			im.Name = "Import " + strings.TrimPrefix(target.Name, "DE_")
			im.FileNamePattern = strings.ToLower(strings.TrimPrefix(target.Name, "DE_")) + "_%%Year%%%%Month%%%%Day%%.csv"
		} else {
			im.Name = fmt.Sprintf("Import File %d", i+1)
			im.FileNamePattern = fmt.Sprintf("file_%d.csv", i+1)
		}
		im.Name = names.name(im.Name)
		im.Key = slug(im.Name)
		im.Description = g.pick([]string{"", "Nightly feed from CRM", "Partner file", "Loaded by automation"})
		im.Created = g.between(t.Epoch, recent)
		im.Modified = g.between(im.Created, recent)
		im.First = im.Created.Truncate(time.Hour).Add(time.Hour + time.Duration(g.intn(4))*15*time.Minute)
		t.Imports = append(t.Imports, im)
		t.importByID[strings.ToLower(im.ID)] = im
		t.importByID[strings.ToLower(im.Key)] = im
	}
	return t
}

// deEntity is the entity a generated data extension name starts with
// ("DE_Order_Lines_Delta_FR" → "Order_Lines"): the longest of deEntities.
func deEntity(name string) string {
	rest, best := strings.TrimPrefix(name, "DE_"), ""
	for _, e := range deEntities {
		if (rest == e || strings.HasPrefix(rest, e+"_")) && len(e) > len(best) {
			best = e
		}
	}
	return best
}

func (g *gen) fields(de *dataExtension) []deField {
	type proto struct {
		name, typ    string
		length, sc   int
		pk, required bool
	}
	pool := []proto{
		{"FirstName", "Text", 50, 0, false, false}, {"LastName", "Text", 50, 0, false, false},
		{"Locale", "Locale", 5, 0, false, false}, {"Phone", "Phone", 50, 0, false, false},
		{"OrderID", "Number", 0, 0, false, false}, {"OrderTotal", "Decimal", 18, 2, false, false},
		{"OrderDate", "Date", 0, 0, false, false}, {"IsActive", "Boolean", 0, 0, false, false},
		{"LoyaltyPoints", "Number", 0, 0, false, false}, {"Tier", "Text", 20, 0, false, false},
		{"Country", "Text", 2, 0, false, false}, {"City", "Text", 100, 0, false, false},
		{"OptInDate", "Date", 0, 0, false, false}, {"Source", "Text", 50, 0, false, false},
		{"ProductSKU", "Text", 40, 0, false, false}, {"LastModified", "Date", 0, 0, false, true},
	}
	out := []deField{
		{Name: "SubscriberKey", Type: "Text", MaxLength: 254, Required: true, PK: true},
		{Name: "EmailAddress", Type: "EmailAddress", MaxLength: 254, Required: true},
	}
	n := 2 + g.intn(8)
	perm := g.r.Perm(len(pool))
	for _, i := range perm[:n] {
		p := pool[i]
		f := deField{Name: p.name, Type: p.typ, MaxLength: p.length, Scale: p.sc, Required: p.required, PK: p.pk}
		if p.typ == "Boolean" {
			f.Default = "False"
		}
		out = append(out, f)
	}
	for i := range out {
		out[i].ObjectID = g.guid()
	}
	return out
}
