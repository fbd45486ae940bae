import { runLedgerOf } from '../../orchestration/run-ledger.ts';
import { ndjsonLines } from '../../lib/format/text-cells.ts';
import { formatRows } from '../format-rows.ts';
import type { CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';
import { parseHour, UsageError } from '../cli-context.ts';

const RUNS_HELP = `netflow runs [--from YYYY-MM-DDTHH] [--to YYYY-MM-DDTHH] [--status published|failed|skipped] [--json] [--config FILE]

Lists the runs recorded in the run ledger, newest last: hour, status, what started it, run and
attempt ids, records read and published, quarantined, duration and error. --from and --to keep
runs of event hours in that range (UTC, both included).`;

export async function runsCommand(context: CliContext, options: { status?: string; json?: boolean; from?: string; to?: string }): Promise<number> {
  if (options.status && !['published', 'failed', 'skipped'].includes(options.status)) throw new UsageError(`--status must be published, failed or skipped, got "${options.status}"`);
  const from = options.from ? parseHour(options.from).toISOString().slice(0, 13) : undefined;
  const to = options.to ? parseHour(options.to).toISOString().slice(0, 13) : undefined;
  const ledger = runLedgerOf(context);
  const entries = (await ledger.entries()).filter((entry) => (!options.status || entry.status === options.status) && (!from || entry.hour >= from) && (!to || entry.hour <= to));
  if (options.json) {
    context.stdout(ndjsonLines(entries));
    return 0;
  }
  const rows = entries.map((entry) => ({
    hour: entry.hour,
    status: entry.status,
    trigger: entry.trigger ?? '',
    run_id: entry.run_id,
    attempt_id: entry.attempt_id,
    read: entry.counts.records_read,
    flows: entry.counts.flows_published,
    quarantined: entry.counts.quarantined,
    seconds: (entry.duration_ms / 1000).toFixed(2),
    error: entry.error ?? '',
  }));
  context.stdout(formatRows(rows, ['hour', 'status', 'trigger', 'run_id', 'attempt_id', 'read', 'flows', 'quarantined', 'seconds', 'error'], 'table'));
  return 0;
}

export const runsCommandDefinition: CommandDefinition = {
  name: 'runs',
  help: RUNS_HELP,
  maxPositionals: 0,
  options: { status: { type: 'string' }, json: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' } },
  run: (context, args) => {
    const [status, from, to] = [stringOption(args, 'status'), stringOption(args, 'from'), stringOption(args, 'to')];
    return runsCommand(context, { ...(status ? { status } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}), json: booleanOption(args, 'json') });
  },
};
