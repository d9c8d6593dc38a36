package tailer

// rescanForTest makes the next Next scan at once, as an fsnotify create
// event would.
func (t *Tailer) rescanForTest() {
	t.rescan.Store(true)
	t.markDirty("", true)
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
