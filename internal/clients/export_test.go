package clients

// OnCompare makes fn see every secret comparison of s: the hash it is
// compared against.
func (s *Service) OnCompare(fn func(want []byte)) { s.onCompare = fn }
