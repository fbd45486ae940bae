import type { CommandDefinition } from '../command-definition.ts';

/** A command as `netflow --help` lists it; its module (and what it imports: DuckDB, the cloud SDKs) loads only when it runs or shows its help. */
export interface CommandEntry {
  name: string;
  /** One line for `netflow --help`. */
  summary: string;
  load(): Promise<CommandDefinition>;
}

/** Every `netflow` command, in the order `netflow --help` lists them. Adding one: a module and a line here. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'run', summary: 'run the hourly job for one event hour (UTC, e.g. --hour 2024-05-01T13)', load: async () => (await import('./run-command.ts')).runCommandDefinition },
  {
    name: 'commit',
    summary: 'publish an hour run as N shards (run --hour H --shard i/N): check every shard, merge, one commit per table',
    load: async () => (await import('./commit-command.ts')).commitCommandDefinition,
  },
  { name: 'demo', summary: 'deliver the bundled samples into the store and run their two hours', load: async () => (await import('./demo-command.ts')).demoCommandDefinition },
  {
    name: 'query',
    summary: 'SQL over the curated tables (flows, violations, traffic_matrix, alerts, quarantine, late_records, anomalies, capacity_hourly)',
    load: async () => (await import('./query-command.ts')).queryCommandDefinition,
  },
  {
    name: 'history',
    summary: "list a curated table's commits (version, time, run, hour, files and rows added and removed)",
    load: async () => (await import('./history-command.ts')).historyCommandDefinition,
  },
  {
    name: 'ddl',
    summary: 'DDL that registers the curated Delta tables and the OCSF view in Athena, Trino, Spark or DuckDB',
    load: async () => (await import('./ddl-command.ts')).ddlCommandDefinition,
  },
  { name: 'inspect', summary: 'normalize one raw flow-log file and print its flows as NDJSON (summary on stderr)', load: async () => (await import('./inspect-command.ts')).inspectCommandDefinition },
  { name: 'runs', summary: 'list the runs recorded in the run ledger', load: async () => (await import('./runs-command.ts')).runsCommandDefinition },
  {
    name: 'status',
    summary: 'per event hour: published, late (inputs changed), outdated (reference/rules changed), incomplete, failed or missing',
    load: async () => (await import('./status-command.ts')).statusCommandDefinition,
  },
  {
    name: 'plan',
    summary: 'the hours × shards plan of a range of hours on W workers, with its expected wall time (no downloads)',
    load: async () => (await import('./plan-command.ts')).planCommandDefinition,
  },
  { name: 'backfill', summary: 'rerun a range of event hours, N at a time, skipping unchanged published hours', load: async () => (await import('./backfill-command.ts')).backfillCommandDefinition },
  {
    name: 'scheduler',
    summary: 'run the hourly job, the late-data rescan and the daily reports on schedule (UTC)',
    load: async () => (await import('./scheduler-command.ts')).schedulerCommandDefinition,
  },
  { name: 'ref', summary: 'check the reference data: inventory, IP ranges, threat lists, rules (netflow ref check)', load: async () => (await import('./ref-command.ts')).refCommandDefinition },
  {
    name: 'rules',
    summary: 'validate and explain a rules file (rules check [FILE]); dry-run rules over a published hour (rules test --hour H)',
    load: async () => (await import('./rules-command.ts')).rulesCommandDefinition,
  },
  {
    name: 'analytics',
    summary: 'anomalies and capacity_hourly for event hours (reads the trailing days of flows)',
    load: async () => (await import('./analytics-command.ts')).analyticsCommandDefinition,
  },
  {
    name: 'report',
    summary: "compliance audit or capacity report for a period (HTML, JSON, CSV); verify: check the reports' hash chains",
    load: async () => (await import('./report-command.ts')).reportCommandDefinition,
  },
  { name: 'recommend', summary: 'segmentation recommendations as ready-to-paste allow_only rules', load: async () => (await import('./recommend-command.ts')).recommendCommandDefinition },
  { name: 'config', summary: 'validate (--check) or print (--dump) the effective configuration', load: async () => (await import('./config-command.ts')).configCommandDefinition },
  { name: 'migrate', summary: 'convert a lake published with manifests into Delta tables (once)', load: async () => (await import('./migrate-command.ts')).migrateCommandDefinition },
];
