package sim

import (
	"testing"
)

// retentionFaultCases test de_retention: the DataExtension Retrieve
// reports row-based retention (DataRetentionPeriodLength, unit 3 = Days,
// RowBasedRetention true) and the row count drops.
func retentionFaultCases() []faultCase {
	return []faultCase{
		{FaultDERetention, func(t *testing.T, h *harness, p picks) {
			r0 := h.rows(p.de.Key)
			h.sim.Inject(Fault{Kind: FaultDERetention, Target: p.de.Key, Params: map[string]string{"days": "2"}})
			r := h.retrieve("DataExtension", nil, simpleFilter("CustomerKey", "equals", p.de.Key))
			if len(r.Results) != 1 {
				t.Fatalf("%+v", r)
			}
			d := r.Results[0]
			if d.child("DataRetentionPeriodLength") != "2" || d.child("DataRetentionPeriodUnitOfMeasure") != "3" || d.child("RowBasedRetention") != "true" {
				t.Fatalf("retention %+v", d)
			}
			if r1 := h.rows(p.de.Key); r1 >= r0 {
				t.Fatalf("rows %v -> %v", r0, r1)
			}
		}},
	}
}
