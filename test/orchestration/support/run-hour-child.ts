/**
 * A runner process for the race and kill tests: loads everything a run needs, says `ready` on
 * stdout, waits for a line on stdin (so that several children start their run at the same moment),
 * runs one hour through orchestration's runHourAndRecord (partition lock, ledger), and prints the
 * result's status as one JSON line. Usage: run-hour-child.ts <config.json> <hour>
 * The config file holds the validated configuration and the store to use.
 *
 * The line on stdin may carry `{"killAtOp": N, "when": "before" | "after"}`: the process then
 * SIGKILLs itself right before (or right after) its Nth object store operation, a point in the
 * run that does not depend on how loaded the machine is. The result line counts the operations.
 * `{"killAtKey": "<regex>", "when": …}` kills at the first upload of a key the pattern matches
 * instead (the first Delta commit file: after the data upload, before the commit).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { configSchema } from '../../../schemas/config.ts';
import { createLogger } from '../../../lib/log/logger.ts';
import { createObjectStore } from '../../../lib/storage/create-object-store.ts';
import type { ObjectStore } from '../../../lib/storage/object-store.ts';
import { runHourAndRecord } from '../../../orchestration/run-hour.ts';

const [configFile, hour] = process.argv.slice(2) as [string, string];
const config = configSchema.parse(JSON.parse(await readFile(configFile, 'utf8')));
const inner = createObjectStore(config.store, { baseDir: path.dirname(configFile) });
let ops = 0;
let killAt: { killAtOp?: number; killAtKey?: string; when: 'before' | 'after' } | undefined;
const counted = async <T>(work: () => Promise<T>, uploadKey?: string): Promise<T> => {
  ops++;
  const mine = ops;
  const here = killAt !== undefined && (killAt.killAtOp === mine || (uploadKey !== undefined && killAt.killAtKey !== undefined && new RegExp(killAt.killAtKey).test(uploadKey)));
  if (here && killAt!.when === 'before') process.kill(process.pid, 'SIGKILL');
  const value = await work();
  if (here && killAt!.when === 'after') process.kill(process.pid, 'SIGKILL');
  return value;
};
const store: ObjectStore = {
  description: inner.description,
  async *list(prefix) {
    yield* await counted(async () => {
      const all = [];
      for await (const object of inner.list(prefix)) all.push(object);
      return all;
    });
  },
  head: (key) => counted(() => inner.head(key)),
  getToFile: (key, local, options) => counted(() => inner.getToFile(key, local, options)),
  getBytes: (key) => counted(() => inner.getBytes(key)),
  putFile: (key, local, options) => counted(() => inner.putFile(key, local, options), key),
  putBytes: (key, body, options) => counted(() => inner.putBytes(key, body, options), key),
  delete: (key) => counted(() => inner.delete(key)),
  ...(inner.localPathOf ? { localPathOf: (key: string) => inner.localPathOf!(key) } : {}),
};
const logger = createLogger({ level: 'warn', write: (line) => process.stderr.write(line) });
process.stdout.write('ready\n');
if (!process.argv.includes('--no-wait')) {
  const lines = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve) => lines.once('line', resolve));
  if (line.startsWith('go {')) killAt = JSON.parse(line.slice(3));
  lines.close();
}
const result = await runHourAndRecord({ config, baseDir: path.dirname(configFile), store, logger, hour: new Date(`${hour}:00:00Z`), trigger: 'test' });
process.stdout.write(`${JSON.stringify({ status: result.status, attemptId: result.attemptId, runId: result.runId, error: result.error ?? null, ops })}\n`);
process.exit(0);
