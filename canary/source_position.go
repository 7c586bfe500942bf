package canary

import "time"

// marker is a source with a read position (an incremental sql source).
type marker interface {
	// Mark is the position read up to; zero when the source has none. It is
	// called from the source's own loop, after Fetch.
	Mark() time.Time
	// Behind: the last read moved the mark, so more rows may wait beyond
	// it; a read that did not move it has caught up.
	Behind() bool
}

// Mark implements marker: the high-water mark of an incremental query.
func (s *SQLSource) Mark() time.Time { return s.mark }

// Behind implements marker.
func (s *SQLSource) Behind() bool { return s.behind }
