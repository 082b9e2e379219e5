package demo

import (
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// pickReliedDE picks a data extension an automation writes or an import
// loads (what data_extension.retention_risk judges), not yet used by
// another case.
func pickReliedDE(why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		relied := map[string]bool{}
		for _, v := range snapshotsOf[resource.AutomationState](m, resource.Automation) {
			for _, k := range v.state.TargetDataExtensions {
				relied[strings.ToLower(k)] = true
			}
		}
		for _, v := range snapshotsOf[resource.ImportState](m, resource.Import) {
			relied[strings.ToLower(v.state.DestinationKey)] = true
		}
		var cands []candidate
		for k, v := range snapshotsOf[resource.DataExtensionState](m, resource.DataExtension) {
			if relied[strings.ToLower(k)] && v.state.Retention == nil {
				cands = append(cands, candidate{key: k})
			}
		}
		c, ok := best(resource.DataExtension, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}
