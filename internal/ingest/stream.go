package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// Stream frames a log stream into records. It is not safe for concurrent
// use, but the batches it returns are: each batch's memory is owned by the
// batch and never touched again by the Stream.
type Stream struct {
	src     io.Reader
	format  Format
	parser  Parser
	maxLine int
	chunk   int

	buf        []byte // current chunk; records returned earlier live before start
	start, end int    // unread window
	scanned    int    // bytes of the window already scanned for the record end
	eof        bool
	err        error // read error, reported after the records read before it

	line    int // line breaks consumed before start
	recNL   int // line breaks inside the record being scanned
	recLine int // line where the record being scanned starts

	csvSt  csvState
	cr     *csv.Reader
	fed    int64 // bytes handed to cr
	feed   *feeder
	arr    arrState
	scrach []byte // for skipping over-long records
}

// NewStream detects gzip (magic bytes 1f 8b) and the format of r from its
// first non-blank byte: '{' JSON lines, '[' a JSON array of objects,
// anything else CSV with a header row (read here). An empty input is an
// empty JSON-lines stream. Errors: bad Options, unreadable or corrupt
// input, a CSV header without a status column.
func NewStream(r io.Reader, opts Options) (*Stream, error) {
	s := &Stream{maxLine: opts.MaxLineBytes, chunk: 64 << 10}
	if s.maxLine <= 0 {
		s.maxLine = DefaultMaxLineBytes
	}
	var head [2]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	src := io.MultiReader(bytes.NewReader(head[:n]), r)
	if n == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		src = zr
	}
	s.src = src
	// Sniff: find the first non-blank byte, skipping a UTF-8 BOM.
sniff:
	for {
		w := s.buf[s.start:s.end]
		if bytes.HasPrefix(w, []byte("\ufeff")) {
			s.start += 3
			continue
		}
		i := 0
		for i < len(w) && (w[i] == ' ' || w[i] == '\t' || w[i] == '\r' || w[i] == '\n') {
			i++
		}
		if i < len(w) && (i > 0 || len(w) >= 3 || w[0] != 0xef) {
			switch w[i] {
			case '{':
				s.format = JSONLines
			case '[':
				s.format = JSONArray
			default:
				s.format = CSV
				if s.mostlyJSONLines() {
					// One broken first line must not turn a JSON-lines
					// stream into CSV and lose every line after it.
					s.format = JSONLines
				}
			}
			switch {
			case opts.Format == CSV:
				s.format = CSV
			case opts.Format == JSONLines && s.format == CSV, opts.Format == JSONArray:
				s.format = JSONLines
			}
			break sniff
		}
		if !s.fill() {
			if s.err != nil {
				return nil, s.err
			}
			s.format = JSONLines
			break sniff
		}
	}
	if s.format == CSV {
		s.feed = &feeder{}
		s.cr = newCSVReader(s.feed)
		var header []string
		for header == nil {
			rec, err := s.ReadBatch(nil, 1)
			if err == io.EOF {
				return nil, errors.New("CSV input has no header row")
			}
			if err != nil {
				return nil, err
			}
			if rec[0].Bad != "" {
				return nil, fmt.Errorf("CSV header (line %d): %s", rec[0].No, rec[0].Bad)
			}
			header = rec[0].Fields
		}
		p, err := NewCSVParser(header, opts)
		if err != nil {
			return nil, err
		}
		s.parser = p
	} else {
		p, err := NewJSONParser(opts)
		if err != nil {
			return nil, err
		}
		s.parser = p
	}
	return s, nil
}

// mostlyJSONLines reports whether most of the first lines in the buffered
// window (up to 20, blank ones skipped) start with '{'.
func (s *Stream) mostlyJSONLines() bool {
	for !s.eof && s.end-s.start < 16<<10 && s.fill() {
	}
	w := s.buf[s.start:s.end]
	json, other := 0, 0
	for len(w) > 0 && json+other < 20 {
		line := w
		if i := bytes.IndexByte(w, '\n'); i >= 0 {
			line, w = w[:i], w[i+1:]
		} else {
			w = nil
		}
		line = bytes.TrimLeft(line, " \t\r\ufeff")
		switch {
		case len(line) == 0:
		case line[0] == '{':
			json++
		default:
			other++
		}
	}
	return json > 0 && json >= other
}

// Format returns the detected format.
func (s *Stream) Format() Format { return s.format }

// Parser returns the parser for this stream's records (for CSV, bound to
// its header). It is safe for concurrent use.
func (s *Stream) Parser() Parser { return s.parser }

// ReadBatch appends the next records to dst, up to about maxBytes of
// record data (at least one record; maxBytes <= 0 means
// DefaultBatchBytes), and returns the extended slice. Blank lines are
// skipped; over-long records come back as RawLine with Bad set. At the
// end it returns no records and io.EOF; a read error (e.g. corrupt gzip)
// is returned after the records read before it. The records' memory is
// never reused, so batches may be handed to other goroutines.
func (s *Stream) ReadBatch(dst []RawLine, maxBytes int) ([]RawLine, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultBatchBytes
	}
	s.chunk = max(maxBytes, 64<<10)
	n0, size := len(dst), 0
	for size < maxBytes {
		rec, ok := s.next()
		if !ok {
			break
		}
		dst = append(dst, rec)
		size += len(rec.Data) + 1
	}
	if len(dst) > n0 {
		return dst, nil
	}
	if s.err != nil {
		err := s.err
		s.err = nil
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return dst, fmt.Errorf("input truncated: %w", err)
		}
		return dst, err
	}
	return dst, io.EOF
}

// next frames one record.
func (s *Stream) next() (RawLine, bool) {
	for {
		if s.format == JSONArray && !s.arr.inElem {
			if !s.arrayStart() {
				return RawLine{}, false
			}
		}
		if s.scanned == 0 {
			s.recLine = s.line + 1
			s.recNL = 0
		}
		w := s.buf[s.start+s.scanned : s.end]
		if e := s.scanEnd(w); e >= 0 {
			end := s.start + s.scanned + e
			rec := s.buf[s.start:end:end]
			s.start, s.scanned = end, 0
			s.line += s.recNL
			if l, ok := s.finish(rec); ok {
				return l, true
			}
			continue
		}
		s.scanned = s.end - s.start
		if s.scanned > s.maxLine {
			return s.skipLong(), true
		}
		if !s.fill() {
			if s.start == s.end {
				s.scanned = 0
				return RawLine{}, false
			}
			// Last record without a line end.
			rec := s.buf[s.start:s.end:s.end]
			s.start, s.scanned = s.end, 0
			s.line += s.recNL + 1
			if l, ok := s.finish(rec); ok {
				return l, true
			}
		}
	}
}

// scanEnd scans w (the unscanned rest of the window) for the end of the
// current record, returning the offset just past it or -1; it counts line
// breaks in s.recNL.
func (s *Stream) scanEnd(w []byte) int {
	switch s.format {
	case CSV:
		return s.csvSt.scan(w, &s.recNL)
	case JSONArray:
		return s.arr.scan(w, &s.recNL)
	}
	if i := bytes.IndexByte(w, '\n'); i >= 0 {
		s.recNL++
		return i + 1
	}
	return -1
}

// finish turns framed bytes into a RawLine; ok is false for blank records.
func (s *Stream) finish(rec []byte) (RawLine, bool) {
	l := RawLine{No: s.recLine}
	switch s.format {
	case JSONArray:
		s.arr = arrState{opened: s.arr.opened}
		l.Data = rec
	case CSV:
		s.csvSt = csvState{}
		if isBlank(rec) {
			return l, false
		}
		l.Data = bytes.TrimRight(rec, "\r\n")
		if len(rec) > s.maxLine {
			l.Bad = tooLong(s.maxLine)
			return l, true
		}
		s.feed.b = rec
		s.fed += int64(len(rec))
		fields, err := s.cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			l.Bad = "CSV: " + err.Error()
		}
		if err != nil || s.cr.InputOffset() != s.fed {
			// Never let one record's leftovers leak into the next.
			s.cr, s.fed = newCSVReader(s.feed), 0
		}
		s.feed.b = nil
		l.Fields = fields
		return l, true
	default:
		rec = bytes.TrimSuffix(rec, []byte("\n"))
		rec = bytes.TrimSuffix(rec, []byte("\r"))
		if isBlank(rec) {
			return l, false
		}
		l.Data = rec
	}
	if len(rec) > s.maxLine {
		l.Data = nil
		l.Bad = tooLong(s.maxLine)
	}
	return l, true
}

func tooLong(n int) string {
	return fmt.Sprintf("record too long (more than %d bytes); skipped", n)
}

// skipLong discards the rest of an over-long record without keeping it.
func (s *Stream) skipLong() RawLine {
	l := RawLine{No: s.recLine, Bad: tooLong(s.maxLine)}
	s.start, s.scanned = s.end, 0
	if s.scrach == nil {
		s.scrach = make([]byte, 64<<10)
	}
	found, idle := false, 0
	for !s.eof {
		n, err := s.src.Read(s.scrach)
		if n == 0 && err == nil {
			if idle++; idle > 100 {
				s.eof, s.err = true, io.ErrNoProgress
			}
			continue
		}
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
		}
		if e := s.scanEnd(s.scrach[:n]); e >= 0 {
			// Keep what follows the record in a fresh chunk.
			rest := s.scrach[e:n]
			s.buf = make([]byte, max(s.chunk, len(rest)))
			s.start, s.end = 0, copy(s.buf, rest)
			found = true
			break
		}
	}
	s.line += s.recNL
	if !found {
		s.line++
	}
	switch s.format {
	case CSV:
		s.csvSt = csvState{}
	case JSONArray:
		s.arr = arrState{opened: s.arr.opened}
	}
	return l
}

// fill reads more input into the window, moving it to a new chunk when the
// current one is full. It returns false when no more input is coming.
func (s *Stream) fill() bool {
	if s.eof {
		return false
	}
	if s.end == len(s.buf) {
		n := s.end - s.start
		nb := make([]byte, max(s.chunk, 2*n))
		copy(nb, s.buf[s.start:s.end])
		s.buf, s.start, s.end = nb, 0, n
	}
	for range 100 {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.err = true, io.ErrNoProgress
	return false
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// csvState tracks quoting while framing CSV records (RFC 4180 with lazy
// quotes, as encoding/csv reads them).
type csvState struct {
	q byte // 0 field start, 1 unquoted field, 2 quoted field, 3 quote inside quoted field
}

func (c *csvState) scan(w []byte, nl *int) int {
	for i := 0; i < len(w); i++ {
		b := w[i]
		if b == '\n' {
			if c.q != 2 {
				*nl++
				return i + 1
			}
			*nl++
			continue
		}
		switch c.q {
		case 0:
			switch b {
			case '"':
				c.q = 2
			case ',':
			default:
				c.q = 1
			}
		case 1:
			if b == ',' {
				c.q = 0
			}
		case 2:
			if b == '"' {
				c.q = 3
			} else if j := bytes.IndexByte(w[i:], '"'); j < 0 {
				*nl += bytes.Count(w[i:], []byte("\n"))
				return -1
			} else {
				*nl += bytes.Count(w[i:i+j], []byte("\n"))
				i += j
				c.q = 3
			}
		case 3:
			switch b {
			case '"':
				c.q = 2
			case ',':
				c.q = 0
			case '\r':
			default:
				c.q = 2 // lazy quotes: a bare quote is data
			}
		}
	}
	return -1
}

// feeder hands one framed record at a time to the csv.Reader.
type feeder struct{ b []byte }

func (f *feeder) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

func newCSVReader(f *feeder) *csv.Reader {
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	return cr
}

// arrState frames the elements of a top-level JSON array. Brackets and
// commas between elements are separators, so concatenated arrays and
// objects after the array are read too.
type arrState struct {
	inElem     bool
	started    bool // first byte of the element seen
	scalar     bool
	depth      int
	inStr, esc bool
	// opened is set between the outer array's '[' and its ']' (kept across
	// elements: only arrayStart changes it).
	opened bool
}

// arrayStart skips brackets, commas and white space up to the next
// element; false at the end of input.
func (s *Stream) arrayStart() bool {
	for {
		w := s.buf[s.start:s.end]
		i := 0
		for ; i < len(w); i++ {
			c := w[i]
			if c == '\n' {
				s.line++
				continue
			}
			if c == ' ' || c == '\t' || c == '\r' || c == ',' {
				continue
			}
			// The outer array's brackets (one after another for
			// concatenated arrays); a '[' inside the array starts an
			// element, which is then reported as not an object.
			if c == '[' && !s.arr.opened {
				s.arr.opened = true
				continue
			}
			if c == ']' && s.arr.opened {
				s.arr.opened = false
				continue
			}
			s.start += i
			s.arr.inElem = true
			return true
		}
		s.start += i
		if !s.fill() {
			return false
		}
	}
}

// scan finds the end of the current array element.
func (a *arrState) scan(w []byte, nl *int) int {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '\n' {
			*nl++
		}
		if !a.started {
			a.started = true
			switch c {
			case '{', '[':
				a.depth = 1
			case '"':
				a.inStr = true
			default:
				a.scalar = true
			}
			continue
		}
		switch {
		case a.inStr:
			switch {
			case a.esc:
				a.esc = false
			case c == '\\':
				a.esc = true
			case c == '"':
				a.inStr = false
				if a.depth == 0 {
					return i + 1
				}
			}
		case a.scalar:
			switch c {
			case ',', ']', ' ', '\t', '\r', '\n':
				if c == '\n' {
					*nl--
				}
				return i
			}
		default:
			switch c {
			case '"':
				a.inStr = true
			case '{', '[':
				a.depth++
			case '}', ']':
				a.depth--
				if a.depth == 0 {
					return i + 1
				}
			}
		}
	}
	return -1
}
