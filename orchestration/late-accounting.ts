import type { LedgerEntry } from '../schemas/ledger.ts';
import type { AccountedObject, LateAccounting } from '../lib/sources/late-objects.ts';
import { hourKey } from './partition-status.ts';
import type { RunLedger } from './run-ledger.ts';

/**
 * What is accounted for in the late hours a run watches (lib/sources/late-objects.ts), from the
 * ledger: per hour, the inputs of its latest published run, plus the late inputs that the latest
 * published run of every *other* hour routed for it. The run's own earlier routing is left out:
 * a rerun recomputes it, so it routes the same objects again into the partition it replaces, and
 * a late object is in exactly one published late_records partition. Hours never published are
 * absent (they are `missing`, not late).
 */
export function lateAccountingOf(entries: readonly LedgerEntry[], runHour: Date, hours: readonly Date[]): Map<string, AccountedObject[]> {
  const latest = new Map<string, LedgerEntry>();
  for (const entry of entries) if (entry.status === 'published') latest.set(entry.hour, entry);
  const accounted = new Map<string, AccountedObject[]>();
  for (const hour of hours) {
    const published = latest.get(hourKey(hour));
    if (published) accounted.set(hourKey(hour), [...published.inputs]);
  }
  const self = hourKey(runHour);
  for (const [hour, entry] of latest) {
    if (hour === self) continue;
    for (const late of entry.late_inputs ?? []) accounted.get(late.hour)?.push(late);
  }
  return accounted;
}

export function ledgerLateAccounting(ledger: RunLedger, runHour: Date): LateAccounting {
  return async (hours) => lateAccountingOf(await ledger.entries(), runHour, hours);
}
