import path from 'node:path';
import { RunLedger } from '../../../orchestration/run-ledger.ts';
import { formatRows } from '../format-rows.ts';
import type { CliContext } from '../cli-context.ts';
import { booleanOption, stringOption, type CommandDefinition } from '../command-definition.ts';

const RUNS_HELP = `netflow runs [--status published|failed] [--json] [--config FILE]

Lists the runs recorded in the run ledger, newest last: hour, status, run and attempt ids,
records read and published, quarantined, duration and error.`;

export async function runsCommand(context: CliContext, options: { status?: string; json?: boolean }): Promise<number> {
  const ledger = new RunLedger(path.resolve(context.baseDir, context.config.ledger.path));
  const entries = (await ledger.entries()).filter((entry) => !options.status || entry.status === options.status);
  if (options.json) {
    context.stdout(entries.map((entry) => JSON.stringify(entry)).join('\n') + (entries.length ? '\n' : ''));
    return 0;
  }
  const rows = entries.map((entry) => ({
    hour: entry.hour,
    status: entry.status,
    run_id: entry.run_id,
    attempt_id: entry.attempt_id,
    read: entry.counts.records_read,
    flows: entry.counts.flows_published,
    quarantined: entry.counts.quarantined,
    seconds: (entry.duration_ms / 1000).toFixed(2),
    error: entry.error ?? '',
  }));
  context.stdout(formatRows(rows, ['hour', 'status', 'run_id', 'attempt_id', 'read', 'flows', 'quarantined', 'seconds', 'error'], 'table'));
  return 0;
}

export const runsCommandDefinition: CommandDefinition = {
  name: 'runs',
  summary: 'list the runs recorded in the run ledger',
  help: RUNS_HELP,
  options: { status: { type: 'string' }, json: { type: 'boolean' } },
  run: (context, args) => {
    const status = stringOption(args, 'status');
    return runsCommand(context, { ...(status ? { status } : {}), json: booleanOption(args, 'json') });
  },
};
