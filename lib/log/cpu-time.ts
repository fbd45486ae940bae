/**
 * CPU time of the whole process (every thread: Node's, worker threads', DuckDB's) since a
 * `process.cpuUsage()` reading. Reported beside wall time: on a shared machine wall time is not
 * the process's own.
 */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}
