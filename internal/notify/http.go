package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// maxDetail caps the response excerpt kept in an error.
const maxDetail = 300

// Scrub replaces every occurrence of the secrets (and of a secret URL's
// path and query) in s by "***", then masks tokens and e-mail addresses.
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		s = strings.ReplaceAll(s, sec, "***")
		if u, err := url.Parse(sec); err == nil && u.Host != "" {
			if len(u.Path) > 1 {
				s = strings.ReplaceAll(s, u.Path, "/***")
				s = strings.ReplaceAll(s, strings.TrimPrefix(u.Path, "/"), "***")
			}
			if u.RawQuery != "" {
				s = strings.ReplaceAll(s, u.RawQuery, "***")
			}
		}
	}
	return redact.String(s)
}

// PostJSON posts body to rawURL and classifies the outcome: 2xx is
// success; other statuses become *Error (see RetryableStatus); transport
// errors are retryable. Neither the URL nor any of secrets appears in the
// returned error (the URL often is the credential).
func PostJSON(ctx context.Context, client *http.Client, channel, rawURL string, body []byte, header http.Header, secrets ...string) error {
	secrets = append(secrets, rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Permanent(channel, errors.New("invalid request URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sfmcwatch")
	for k, vs := range header {
		req.Header[k] = vs
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		if ctx.Err() != nil {
			return Retryable(channel, fmt.Errorf("request canceled: %w", ctx.Err()))
		}
		return Retryable(channel, errors.New(Scrub(err.Error(), secrets...)))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	detail := Scrub(strings.TrimSpace(string(excerpt)), secrets...)
	if len(detail) > maxDetail {
		detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
	}
	return HTTPStatusError(channel, resp, detail)
}
