/**
 * What `netflow query --from/--to/--as-of` asks for, parsed into values the lake session takes:
 * a partition filter over the log's partition values, and a snapshot version or moment.
 */
const HOUR = /^(\d{4}-\d{2}-\d{2})T(\d{2})$/;

/** `YYYY-MM-DDTHH` as a partition; an error naming the option otherwise. */
export function parseHourOption(option: string, value: string): { dt: string; hour: string } {
  const match = HOUR.exec(value);
  if (!match || Number.isNaN(Date.parse(`${value}:00:00Z`)) || Number(match[2]) > 23) throw new Error(`${option} must be an hour such as 2024-05-01T13, got "${value}"`);
  return { dt: match[1]!, hour: match[2]! };
}

/** The partitions from `from` to `to`, both included (a day is `--from 2024-05-01T00 --to 2024-05-01T23`); open ends when absent. */
export function partitionRange(from?: string, to?: string): ((partition: { dt: string; hour: string }) => boolean) | undefined {
  if (!from && !to) return undefined;
  const low = from ? parseHourOption('--from', from) : undefined;
  const high = to ? parseHourOption('--to', to) : undefined;
  const key = (partition: { dt: string; hour: string }) => `${partition.dt}T${partition.hour}`;
  if (low && high && key(low) > key(high)) throw new Error(`--from ${from} is after --to ${to}`);
  return (partition) => (!low || key(partition) >= key(low)) && (!high || key(partition) <= key(high));
}

/** The dates a range touches, so the session can skip every other day without looking at its hours. */
export function datesOfRange(from?: string, to?: string): string[] | undefined {
  if (!from || !to) return undefined;
  const dates: string[] = [];
  for (let at = Date.parse(`${parseHourOption('--from', from).dt}T00:00:00Z`); at <= Date.parse(`${parseHourOption('--to', to).dt}T00:00:00Z`); at += 86_400_000) {
    dates.push(new Date(at).toISOString().slice(0, 10));
  }
  return dates;
}

/** `--as-of`: a table version (digits) or a moment (ISO 8601). */
export function parseAsOf(value: string): { version: number } | { timestamp: Date } {
  if (/^\d+$/.test(value)) return { version: Number(value) };
  const at = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(at)) throw new Error(`--as-of must be a version number or a time such as 2024-05-01T13:30:00Z, got "${value}"`);
  return { timestamp: new Date(at) };
}
