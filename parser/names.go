package parser

// NginxFieldNames returns the names of the fields the nginx parser for
// logFormat (see Config.LogFormat) can add to a record, in the order of the
// format: one per variable (a time variable's only when its value does not
// parse), and the request_* fields split from $request and $request_uri. A
// line adds those of them it has values for. A bad format gives the error
// New gives. It lets configuration validation refuse static fields that
// would conflict with parsed ones.
func NginxFieldNames(logFormat string) ([]string, error) {
	p, err := newNginx(logFormat)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range p.c.vars {
		if v.dup {
			continue
		}
		names = append(names, v.key)
		for _, d := range derivedNames {
			if v.derive&d.bit != 0 {
				names = append(names, d.name)
			}
		}
	}
	return names, nil
}

// derivedNames are the fields split from $request and $request_uri.
var derivedNames = [...]struct {
	bit  uint8
	name string
}{
	{dMethod, "request_method"},
	{dURI, "request_uri"},
	{dPath, "request_path"},
	{dQuery, "request_query"},
	{dProto, "request_protocol"},
}

// NginxErrorFieldNames returns the names of the fields the nginx_error
// parser adds: its own (level, pid, tid, connection_id, error_message),
// the context nginx writes after the message (client, server, request,
// upstream, host, referrer, subrequest) and the request_* fields split from
// request. A line may hold other context keys of its own.
func NginxErrorFieldNames() []string {
	names := []string{"level", "pid", "tid", "connection_id", "error_message",
		"client", "server", "request", "upstream", "host", "referrer", "subrequest"}
	for _, d := range derivedNames {
		names = append(names, d.name)
	}
	return names
}
