package scan

import (
	"io"

	"github.com/sfmcwatch/sfmcwatch/internal/endpoint"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
)

// openIngest is the default Options.Open.
func openIngest(r io.Reader, o ingest.Options) (Source, error) {
	o.Source = "scan"
	s, err := ingest.NewStream(r, o)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// endpointOf templates a URL when the parser left Event.Endpoint empty.
func endpointOf(url string) (string, string) { return endpoint.Template(url) }
