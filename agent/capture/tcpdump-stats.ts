/**
 * tcpdump reports its counters on stderr at exit and on SIGUSR1, either one per line
 * ("12 packets dropped by kernel") or on one line ("tcpdump: 3 packets captured, 3 packets
 * received by filter, 0 packets dropped by kernel"). The counts are totals since that tcpdump started.
 */
export interface TcpdumpStats {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
  droppedByInterface?: number;
}

export function parseTcpdumpStats(line: string): TcpdumpStats | undefined {
  const stats: TcpdumpStats = {};
  let found = false;
  for (const match of line.matchAll(/(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)/g)) {
    const value = Number(match[1]);
    found = true;
    if (match[2] === 'captured') stats.captured = value;
    else if (match[2] === 'received by filter') stats.receivedByFilter = value;
    else if (match[2] === 'dropped by kernel') stats.droppedByKernel = value;
    else stats.droppedByInterface = value;
  }
  return found ? stats : undefined;
}
