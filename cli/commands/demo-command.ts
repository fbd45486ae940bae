import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CliContext } from '../cli-context.ts';
import type { CommandDefinition } from '../command-definition.ts';
import { exitCodeOfRuns } from '../exit-codes.ts';
import { formatRunSummary } from '../run-summary.ts';
import { runHourWithProgress } from './run-command.ts';
import { packagePath } from '../../lib/process/package-root.ts';

export const SAMPLES_DIR = packagePath('data', 'samples');
export const SAMPLE_HOURS = ['2024-05-01T13', '2024-05-01T14'];

const DEMO_HELP = `netflow demo [--config FILE]

Delivers the bundled sample raw files (data/samples/raw: AWS VPC Flow Logs and agent segments for
${SAMPLE_HOURS.join(' and ')}) into the object store, as the clouds and agents would, then runs the
hourly job for both hours and prints what it found. With no configuration file the store is
./lake and the ledger .netflow/ledger.ndjson. Then try: netflow query "SELECT * FROM alerts"`;

/** Copies the sample raw objects into the store under their native keys; returns how many were new. */
export async function deliverSamples(context: Pick<CliContext, 'store'>): Promise<number> {
  let delivered = 0;
  for (const file of await listFiles(path.join(SAMPLES_DIR, 'raw'))) {
    const key = path.relative(SAMPLES_DIR, file).split(path.sep).join('/');
    const existing = await context.store.head(key);
    if (existing && existing.size === (await stat(file)).size) continue;
    await context.store.putFile(key, file);
    delivered++;
  }
  return delivered;
}

export async function demoCommand(context: CliContext): Promise<number> {
  const delivered = await deliverSamples(context);
  context.stdout(`delivered ${delivered} sample object(s) to ${context.store.description}\n\n`);
  const outcomes: { status: string; lockHeld?: boolean }[] = [];
  for (const hour of SAMPLE_HOURS) {
    const result = await runHourWithProgress(context, new Date(`${hour}:00:00Z`));
    context.stdout(`${formatRunSummary(result)}\n`);
    outcomes.push(result);
  }
  context.stdout(
    [
      'next:',
      '  npx netflow query "SELECT rule_id, src_ip, dst_ip, dst_port, flow_count FROM alerts ORDER BY rule_id"',
      '  npx netflow query "SELECT dimension, src_group, dst_group, flows, bytes FROM traffic_matrix WHERE dimension = \'segment\'"',
      '  npx netflow runs',
      '  npx netflow analytics --from 2024-05-01T13 --to 2024-05-01T14',
      '  npx netflow report compliance --from 2024-05-01 --to 2024-05-01 --out ./reports',
      '',
    ].join('\n'),
  );
  return exitCodeOfRuns(outcomes);
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

export const demoCommandDefinition: CommandDefinition = {
  name: 'demo',
  help: DEMO_HELP,
  maxPositionals: 0,
  options: {},
  run: (context) => demoCommand(context),
};
