import { ANOMALY_KINDS, type InjectedEvent } from './labelled-traffic.ts';

/** One published anomaly as the scoring needs it. */
export type Finding = {
  kind: string;
  /** Event hour, `YYYY-MM-DDTHH`. */
  hour: string;
  subject: string;
  src_ip: string | null;
};

export interface EventScores {
  events: number;
  findings: number;
  /** Findings an injected event explains / all findings. */
  precision: number;
  /** Events with at least one finding of their own kind / all events. */
  recall: number;
  /** Findings explained by events / events found: 1 when every event is exactly one finding. */
  findingsPerEvent: number;
  perKind: Record<string, { events: number; found: number; findings: number; unexplained: number }>;
  missed: string[];
  unexplained: Finding[];
}

/** Whether an event explains a finding: the same source (or, for a segment pair's volume, the pair) within the event's hours. */
export function explains(event: InjectedEvent, finding: Finding): boolean {
  return finding.hour >= event.hour && finding.hour <= event.until && (finding.src_ip === event.src_ip || (finding.src_ip === null && finding.subject === event.pair));
}

/** Event-level precision, recall and findings per event of published anomalies against the injected events. */
export function scoreFindings(events: readonly InjectedEvent[], findings: readonly Finding[]): EventScores {
  const correct = findings.filter((finding) => events.some((event) => explains(event, finding)));
  const found = events.filter((event) => findings.some((finding) => finding.kind === event.kind && explains(event, finding)));
  const perKind = Object.fromEntries(
    ANOMALY_KINDS.map((kind) => [
      kind,
      {
        events: events.filter((event) => event.kind === kind).length,
        found: found.filter((event) => event.kind === kind).length,
        findings: findings.filter((finding) => finding.kind === kind).length,
        unexplained: findings.filter((finding) => finding.kind === kind && !correct.includes(finding)).length,
      },
    ]),
  );
  return {
    events: events.length,
    findings: findings.length,
    precision: findings.length === 0 ? 1 : correct.length / findings.length,
    recall: events.length === 0 ? 1 : found.length / events.length,
    findingsPerEvent: found.length === 0 ? 0 : correct.length / found.length,
    perKind,
    missed: events.filter((event) => !found.includes(event)).map((event) => `${event.hour} ${event.kind}: ${event.description}`),
    unexplained: findings.filter((finding) => !correct.includes(finding)),
  };
}
