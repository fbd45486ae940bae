/** An event hour's partition of every curated table: the Hive folders `dt=YYYY-MM-DD/hour=HH/` and the log's partition values. */
export interface PartitionRef {
  dt: string;
  hour: string;
}

export function partitionOf(hourStart: Date): PartitionRef {
  const iso = hourStart.toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
