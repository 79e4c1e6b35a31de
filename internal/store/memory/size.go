package memory

// Size returns how many denylist entries are in force now and how many
// cutoffs are held (for metrics); expired entries not yet pruned are not
// counted.
func (s *Store) Size() (denied, cutoffs int) {
	now := s.clock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, exp := range s.deny {
		if live(exp, now) {
			denied++
		}
	}
	return denied, len(s.cutoffs)
}
