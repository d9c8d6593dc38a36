package tailer

import "fmt"

func (t *Tailer) dump() string {
	s := ""
	for _, f := range t.order {
		s += fmt.Sprintf("%s orig=%s fd=%v st=%v off=%d size=%d eof=%v away=%v final=%v copyOf=%v changed=%v\n", f.path, f.origPath, f.fd != nil, f.st != nil, f.offset, f.size, f.eof, f.away, f.final, f.copyOf != nil, f.changed)
	}
	return s
}
