package classify

import "github.com/sfmcwatch/sfmcwatch/internal/catalog"

// parseOAuth reads the v2/token failure body {error, error_description,
// error_uri}. (Token-route throttling uses the REST shape, errorcode 50200,
// and is handled by parseREST on the oauth surface.)
func parseOAuth(col *collector, o *jsonObject) {
	code := rawText(o.Error)
	if code == "" {
		return
	}
	col.refine(catalog.OAuth)
	col.add(finding{code: code, msg: rawText(o.ErrorDescription), on: chain{catalog.OAuth, catalog.REST}, hint: hintError})
}
