import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import { commitHistory } from '../../lib/delta/commit-history.ts';
import { listLog, readCommit } from '../../lib/delta/delta-log.ts';
import { formatRows, type OutputFormat } from '../format-rows.ts';
import { UsageError, type CliContext } from '../cli-context.ts';
import { stringOption, type CommandDefinition } from '../command-definition.ts';

const HISTORY_HELP = `netflow history <table> [--limit N] [--format table|csv|json] [--config FILE]

Lists the commits of a curated table's Delta log, oldest first: version, time, operation, run
id, event hour, and files and rows added and removed. Commits older than publish.log_retention
that a checkpoint covers are gone from the log. A version can be read again with
netflow query --as-of <version>. --limit keeps the newest N (default 50).`;

const COLUMNS = ['version', 'committed_at', 'operation', 'run_id', 'hour', 'files_added', 'files_removed', 'rows_added', 'rows_removed'];

export async function historyCommand(context: CliContext, tableName: string | undefined, options: { limit?: string; format?: string }): Promise<number> {
  const table = QUERYABLE_TABLES.find((candidate) => candidate.name === tableName);
  if (!table) throw new UsageError(`history needs a table: one of ${QUERYABLE_TABLES.map((candidate) => candidate.name).join(', ')}`);
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number, got "${options.limit}"`);
  const format = (options.format ?? 'table') as OutputFormat;
  if (!['table', 'csv', 'json'].includes(format)) throw new UsageError(`--format must be table, csv or json, got "${options.format}"`);
  const versions = (await listLog(context.store, table)).commits.sort((a, b) => a - b);
  const commits = [];
  for (const version of versions) {
    const actions = await readCommit(context.store, table, version);
    if (actions) commits.push({ version, actions });
  }
  const rows = commitHistory(commits).slice(-limit);
  context.stdout(
    formatRows(
      rows.map((row) => ({ ...row, rows_removed: row.rows_removed ?? '?' })),
      COLUMNS,
      format,
    ),
  );
  return 0;
}

export const historyCommandDefinition: CommandDefinition = {
  name: 'history',
  help: HISTORY_HELP,
  maxPositionals: 1,
  options: { limit: { type: 'string' }, format: { type: 'string' } },
  run: (context, args) => {
    const [limit, format] = [stringOption(args, 'limit'), stringOption(args, 'format')];
    return historyCommand(context, args.positionals[0], { ...(limit ? { limit } : {}), ...(format ? { format } : {}) });
  },
};
