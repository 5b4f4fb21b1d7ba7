// Package proc holds the operating-system primitives the pool's drivers
// are built from, and knows nothing of calls or requests.
//
// Its idea in one sentence: start, watch, signal and reap processes, and
// pump their pipes. On Unix that is the Spawner (a thread that lives as
// long as the pool, so that a parent-death signal means the pool is gone),
// the Reaper (the lifeline process of reaper.bash), group and session
// signalling, the /proc scans (Linux), the pidfd watcher (Linux) and the
// output pumps; on Windows the Job Objects that stand in for the spawner,
// the reaper and process groups.
//
// Imports: proc → signals (and x/sys); nothing of the pool. Everything
// above it (driver, the drivers, the pool) imports it, never the reverse.
//
// Portability: the /proc scans and the pidfd watcher need Linux. On other
// Unix systems GroupSet lists nothing and KillSession reaches only the
// session leader's group, and the reaper finds nothing to kill, so a
// process a call left in another group survives a crash of the pool there.
package proc
