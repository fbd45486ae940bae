import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../schemas/config.ts';
import { ledgerEntrySchema, type LedgerEntry } from '../schemas/ledger.ts';
import type { HourlyEtlResult } from '../jobs/hourly-etl.ts';
import { redactSecrets } from '../lib/log/redact.ts';

/**
 * The embedded run ledger: an append-only NDJSON file, one entry per run attempt, fsync'ed
 * before a run counts as recorded. A torn last line (a crash mid-append) is ignored on read.
 */
export class RunLedger {
  constructor(readonly file: string) {}

  async append(entry: LedgerEntry): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const handle = await open(this.file, 'a');
    try {
      await handle.write(`${JSON.stringify(entry)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async entries(): Promise<LedgerEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const entries: LedgerEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed = ledgerEntrySchema.safeParse(JSON.parse(line));
        if (parsed.success) entries.push(parsed.data);
      } catch {
        // A torn line from a crash mid-append: the run it describes is not recorded.
      }
    }
    return entries;
  }
}

/** The ledger a configuration names, its path relative to the configuration's folder. */
export function runLedgerOf(context: { config: Config; baseDir: string }): RunLedger {
  return new RunLedger(path.resolve(context.baseDir, context.config.ledger.path));
}

export function ledgerEntryOf(result: HourlyEtlResult, startedAt: Date, finishedAt: Date): LedgerEntry {
  return {
    ledger_version: 1,
    run_id: result.runId,
    attempt_id: result.attemptId,
    hour: result.hour,
    status: result.status,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_ms: result.durationsMs.total ?? finishedAt.getTime() - startedAt.getTime(),
    inputs: result.inputs,
    ...(result.lateInputs && result.lateInputs.length > 0 ? { late_inputs: result.lateInputs } : {}),
    reference_hash: result.referenceHash,
    rules_hash: result.rulesHash,
    rules_version: result.rulesVersion ?? null,
    alert_delivery: Object.fromEntries(
      Object.entries(result.alertDelivery ?? {}).map(([sink, delivery]) => [sink, { ...delivery, error: delivery.error === null ? null : redactSecrets(delivery.error) }]),
    ),
    outputs: result.tables.map((table) => ({ table: table.table, manifest_key: table.manifestKey, rows: table.rows, files: table.files.map((file) => file.key) })),
    counts: result.counts,
    counts_by_source: result.countsBySource,
    models: result.models.map((model) => ({ name: model.name, status: model.status, rows: model.rows, duration_ms: model.durationMs })),
    durations_ms: result.durationsMs,
    ...(result.listing ? { listing: result.listing } : {}),
    // Errors are redacted where they are made; this is the last line before the ledger.
    error: result.error === undefined ? null : redactSecrets(result.error),
    ...(result.errorCauses && result.errorCauses.length > 0 ? { error_causes: result.errorCauses.map((cause) => redactSecrets(cause)) } : {}),
  };
}
