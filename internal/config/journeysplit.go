package config

// JourneySplitSkewRule: a journey decision split's share of contacts per
// path against the split's own baseline (journey.split_skew).
type JourneySplitSkewRule struct {
	RuleBase `yaml:",inline"`
	Window   Duration `yaml:"window" doc:"The split's path shares over this last window (up to the journey history read, which lags SFMC by 30 min; widened up to 4 x window while the split processed fewer than min_contacts) are judged."`
	Baseline Duration `yaml:"baseline" doc:"The shares over this span before the window are the split's baseline (a random split without enough history: its declared percentages)."`
	// MinContacts and MinBaseline: volume floors.
	MinContacts int64 `yaml:"min_contacts" doc:"Splits that processed fewer contacts in the window are not judged."`
	MinBaseline int64 `yaml:"min_baseline" doc:"Contacts the baseline span needs before its shares count as the baseline."`
	DropRatio   Ratio `yaml:"drop_ratio" doc:"A path whose share falls below (1 - drop_ratio) x its baseline share fires (0.8: a path that took 30% now takes under 6%)."`
	MinShare    Ratio `yaml:"min_share" doc:"Paths whose baseline share is smaller are not judged for a drop."`
}
