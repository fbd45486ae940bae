/** A report's period: whole UTC hours [from, to). */
export interface ReportPeriod {
  from: Date;
  to: Date;
}

const HOUR_MS = 3_600_000;

/**
 * Parses `--from`/`--to`: a date (`2024-05-01`, the whole day) or an hour (`2024-05-01T13`).
 * Both ends are inclusive, as people say them: `--from 2024-05-01 --to 2024-05-01` is that day,
 * `--from 2024-05-01T13 --to 2024-05-01T14` is two hours.
 */
export function parseReportPeriod(fromText: string, toText: string): ReportPeriod {
  const from = parsePoint(fromText, 'from');
  const to = parsePoint(toText, 'to');
  const period = { from: from.start, to: to.end };
  if (period.to <= period.from) throw new RangeError(`--to (${toText}) must not be before --from (${fromText})`);
  return period;
}

function parsePoint(text: string, name: string): { start: Date; end: Date } {
  const day = /^(\d{4}-\d{2}-\d{2})$/.exec(text);
  const hour = /^(\d{4}-\d{2}-\d{2})T(\d{2})(?::00(?::00)?)?Z?$/.exec(text);
  const start = day ? new Date(`${day[1]}T00:00:00Z`) : hour ? new Date(`${hour[1]}T${hour[2]}:00:00Z`) : undefined;
  if (!start || Number.isNaN(start.getTime()) || (day && start.toISOString().slice(0, 10) !== day[1]) || (hour && start.toISOString().slice(0, 13) !== `${hour[1]}T${hour[2]}`)) {
    throw new RangeError(`--${name} must be a UTC date (2024-05-01) or hour (2024-05-01T13), got "${text}"`);
  }
  return { start, end: new Date(start.getTime() + (day ? 24 * HOUR_MS : HOUR_MS)) };
}

export function hoursOf(period: ReportPeriod): Date[] {
  const hours: Date[] = [];
  for (let at = period.from.getTime(); at < period.to.getTime(); at += HOUR_MS) hours.push(new Date(at));
  return hours;
}

export function hourLabel(date: Date): string {
  return date.toISOString().slice(0, 13);
}

/** `2024-05-01` for a single day, `2024-05-01T13_2024-05-01T14` for hours, `2024-05-01_2024-05-07` for days. */
export function periodLabel(period: ReportPeriod): string {
  const wholeDays = period.from.getTime() % (24 * HOUR_MS) === 0 && period.to.getTime() % (24 * HOUR_MS) === 0;
  const last = new Date(period.to.getTime() - (wholeDays ? 24 * HOUR_MS : HOUR_MS));
  const label = (date: Date) => (wholeDays ? date.toISOString().slice(0, 10) : hourLabel(date));
  return label(period.from) === label(last) ? label(period.from) : `${label(period.from)}_${label(last)}`;
}

/** The store folder date of a report: the last day of its period. */
export function periodFolderDate(period: ReportPeriod): string {
  return new Date(period.to.getTime() - HOUR_MS).toISOString().slice(0, 10);
}

export function partitionInPeriod(partition: { dt: string; hour: string }, period: ReportPeriod): boolean {
  const at = Date.parse(`${partition.dt}T${partition.hour}:00:00Z`);
  return at >= period.from.getTime() && at < period.to.getTime();
}

/** The UTC dates (`YYYY-MM-DD`) a range of hours touches: the partition prefixes a reader lists. */
export function datesOf(period: ReportPeriod): string[] {
  const dates: string[] = [];
  for (let day = Math.floor(period.from.getTime() / 86_400_000) * 86_400_000; day < period.to.getTime(); day += 86_400_000) dates.push(new Date(day).toISOString().slice(0, 10));
  return dates;
}
