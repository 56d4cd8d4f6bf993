import { readFileSync, readdirSync } from 'fs';

/** The process names of each server on this machine (`/proc/<pid>/comm`). */
const SERVER_PROCESSES: Record<string, string[]> = {
  postgres: ['postgres'],
  citus: ['postgres'],
  mariadb: ['mariadbd', 'mysqld'],
};

/**
 * CPU time (user + system, ms) used so far by every process of the local database server of `dialect`
 * (all its backends and background workers: autovacuum, WAL writer, ...), read from `/proc`; `undefined`
 * on SQLite (in process), off Linux, or when no such process is visible (a remote server). Two readings
 * around a workload give the server's CPU for it, as far as nothing else uses the same server meanwhile.
 */
export function serverCpuMs(dialect: string): number | undefined {
  const names = SERVER_PROCESSES[dialect];
  if (!names) return undefined;
  let ticks = 0;
  let seen = false;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      if (!names.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
      // Fields after the command name: utime and stime are the 12th and 13th (clock ticks).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      seen = true;
    } catch {
      // (the process ended meanwhile)
    }
  }
  return seen ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
}
