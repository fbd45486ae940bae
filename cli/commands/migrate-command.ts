import path from 'node:path';
import { durationMs } from '../../schemas/config.ts';
import { migrateManifestLake } from '../../lib/publish/migrate-manifest-lake.ts';
import type { CliContext } from '../cli-context.ts';
import type { CommandDefinition } from '../command-definition.ts';

const MIGRATE_HELP = `netflow migrate [--config FILE]

Converts a lake published with per-partition manifests (curated/<table>/dt=…/hour=…/_manifest.json
and version= folders; alerts/ and quarantine/ as NDJSON) into Delta tables under curated/<table>/,
once: every partition's files are rewritten as Delta data files and committed with their run id,
then the old objects are deleted. Stop the scheduler first. Running it again finishes a migration
that stopped halfway and otherwise does nothing.`;

export async function migrateCommand(context: CliContext): Promise<number> {
  const result = await migrateManifestLake({
    store: context.store,
    workDir: path.resolve(context.baseDir, context.config.work_dir),
    logger: context.logger,
    gracePeriodMs: durationMs(context.config.publish.grace_period),
  });
  const tables = Object.entries(result.tables)
    .map(([table, partitions]) => `${table} ${partitions}`)
    .join(', ');
  context.stdout(
    result.partitions === 0
      ? 'nothing to migrate: no manifests found\n'
      : `migrated ${result.partitions} partition(s), ${result.rows} row(s): ${tables}; deleted ${result.deletedObjects} old object(s)\n`,
  );
  return 0;
}

export const migrateCommandDefinition: CommandDefinition = {
  name: 'migrate',
  help: MIGRATE_HELP,
  maxPositionals: 0,
  options: {},
  run: (context) => migrateCommand(context),
};
