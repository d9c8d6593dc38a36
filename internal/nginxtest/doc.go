// Package nginxtest runs Debian's real nginx for tests and drives traffic at
// it: Start writes a config into a temp prefix and starts nginx (master and
// workers, `daemon off;`) on a free loopback port with an access_log in a
// directory the test chooses; Reopen sends the master SIGUSR1 the way
// logrotate's postrotate does; Drive sends a bounded number of requests with
// varied paths, statuses, user agents and planted secrets, and returns every
// $request_id nginx answered with; ReadAccessLogs reads the ids back from the
// log files as the truth of what nginx wrote.
//
// It owns the nginx processes and the prefix directory of each Server and
// must never leave a process behind: Stop (run by t.Cleanup) stops the master
// by PID and waits for it, escalating to SIGKILL of its process group. It must
// never listen on anything but 127.0.0.1 and never send an unbounded load.
package nginxtest
