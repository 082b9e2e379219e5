package sfmc

import (
	"context"
	"net/http"
)

// pageInfo is what one REST page said about paging.
type pageInfo struct {
	n        int // items on this page
	total    int // total reported (0 if unknown)
	pageSize int // page size reported (0 if unknown)
}

// pageLoop calls fetch for pages 1, 2, … until a short or empty page, the
// reported total is reached, or MaxPages.
func (c *Client) pageLoop(ctx context.Context, endpoint string, pageSize int, fetch func(ctx context.Context, page int) (pageInfo, error)) error {
	for page := 1; ; page++ {
		if page > c.opt.MaxPages {
			return &APIError{Tenant: c.tenant.Name, Method: http.MethodGet, Endpoint: endpoint, Kind: KindDecode,
				Message: "paging did not end within MaxPages"}
		}
		pi, err := fetch(ctx, page)
		if err != nil {
			return err
		}
		size := pageSize
		if pi.pageSize > 0 && pi.pageSize < size {
			size = pi.pageSize
		}
		if pi.n == 0 || pi.n < size || (pi.total > 0 && page*size >= pi.total) {
			return nil
		}
	}
}

func (c *Client) pageSize(def int) int {
	if c.opt.PageSize > 0 {
		return min(c.opt.PageSize, def)
	}
	return def
}
