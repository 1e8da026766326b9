// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): it tells the service manager that the agent is ready,
// what it is doing, and that its main loop is alive.
//
// The protocol is a datagram of newline-separated VAR=VALUE assignments
// sent to the Unix socket named by $NOTIFY_SOCKET (a path, or an abstract
// name written with a leading '@'). Outside systemd, or under a unit that
// is not Type=notify, the variable is unset and every call does nothing.
//
// The watchdog (WatchdogSec= in the unit) expects WATCHDOG=1 more often
// than $WATCHDOG_USEC; WatchdogInterval returns half of it, as
// sd_watchdog_enabled(3) recommends, and nothing when the watchdog is off
// or $WATCHDOG_PID names another process.
package sdnotify
