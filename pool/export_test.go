package pool

// ShellPIDs returns the pids of the pool's session shells (tests only).
func (p *Pool) ShellPIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for s := range p.sessions {
		if s.sh != nil {
			out = append(out, s.sh.PID())
		}
	}
	return out
}
