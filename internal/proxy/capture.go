package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync"
)

// capture keeps the first max bytes that stream through a body; the rest
// is passed on without being kept.
type capture struct {
	mu  sync.Mutex
	buf []byte
	max int
	// total counts every byte seen (kept or not).
	total int64
}

func newCapture(max int) *capture { return &capture{max: max} }

func (c *capture) write(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if room := c.max - len(c.buf); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		if c.buf == nil {
			c.buf = make([]byte, 0, min(c.max, max(len(p), 512)))
		}
		c.buf = append(c.buf, p...)
	}
}

// bytes returns the kept prefix (nil-safe).
func (c *capture) bytes() []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf
}

// decoded returns the kept prefix decoded for the classifier: gzip is
// inflated as far as the prefix goes (still capped); identity is returned
// as is; other encodings (br, deflate) are not inspected (nil: the status
// alone classifies).
func (c *capture) decoded(contentEncoding string) []byte {
	b := c.bytes()
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return b
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		out, _ := io.ReadAll(io.LimitReader(zr, int64(c.max))) // a truncated stream yields what it has
		return out
	}
	return nil
}

// captureBody tees what is read through it into a capture and calls
// onClose once when closed (the reverse proxy always closes bodies, also
// when the client goes away mid-stream).
type captureBody struct {
	rc      io.ReadCloser
	cap     *capture
	onClose func()
	once    sync.Once
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.cap.write(p[:n])
	}
	return n, err
}

func (b *captureBody) Close() error {
	err := b.rc.Close()
	if b.onClose != nil {
		b.once.Do(b.onClose)
	}
	return err
}
