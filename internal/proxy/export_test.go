package proxy

import "net"

// UseListeners makes Run serve on lns (in listener order) instead of
// binding the configured addresses: tests stand in addresses they may not
// bind.
func (s *Server) UseListeners(lns []net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lns = lns
}

// ServerErrorLog exposes the listeners' error log for tests.
var ServerErrorLog = serverErrorLog
