import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** The layer rules of `npm run lint`, checked on small trees: they must fail on a back edge. */
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'netflow-layers-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Writes `files` (path → imported paths) as TypeScript modules under a temporary root and cruises them. */
async function violations(files: Record<string, string[]>): Promise<string[]> {
  for (const [file, imports] of Object.entries(files)) {
    const full = path.join(root, file);
    await mkdir(path.dirname(full), { recursive: true });
    const lines = imports.map((target, index) => `import { x as x${index} } from '${path.posix.relative(path.posix.dirname(file), target).replace(/^(?!\.)/, './')}';`);
    await writeFile(full, `${lines.join('\n')}\nexport const x = ${imports.length};\n`);
  }
  const result = await cruise(Object.keys(files), { baseDir: root, validate: true, ruleSet: { forbidden: config.forbidden }, tsPreCompilationDeps: true }, { extensions: ['.ts'] });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('the layer rules of DESIGN.md', () => {
  it('accept imports down the table', async () => {
    expect(
      await violations({
        'schemas/config.ts': [],
        'lib/storage/store.ts': ['schemas/config.ts'],
        'lib/publish/publish.ts': ['lib/storage/store.ts'],
        'jobs/job.ts': ['lib/publish/publish.ts', 'schemas/config.ts'],
        'orchestration/run.ts': ['jobs/job.ts', 'lib/storage/store.ts'],
        'cli/main.ts': ['orchestration/run.ts', 'jobs/job.ts', 'lib/storage/store.ts', 'schemas/config.ts'],
        'agent/agent.ts': ['lib/storage/store.ts', 'schemas/config.ts'],
        'test/suite.test.ts': ['cli/main.ts', 'agent/agent.ts'],
      }),
    ).toEqual([]);
  });

  const backEdges: { edge: string; files: Record<string, string[]>; rule: string }[] = [
    { edge: 'lib → orchestration', files: { 'orchestration/ledger.ts': [], 'lib/reports/report.ts': ['orchestration/ledger.ts'] }, rule: 'lib-imports-schemas-and-lib' },
    { edge: 'lib → cli', files: { 'cli/format.ts': [], 'lib/reports/report.ts': ['cli/format.ts'] }, rule: 'lib-imports-schemas-and-lib' },
    { edge: 'schemas → lib', files: { 'lib/ip.ts': [], 'schemas/config.ts': ['lib/ip.ts'] }, rule: 'schemas-import-nothing' },
    { edge: 'jobs → orchestration', files: { 'orchestration/ledger.ts': [], 'jobs/job.ts': ['orchestration/ledger.ts'] }, rule: 'jobs-import-schemas-sql-lib' },
    { edge: 'orchestration → cli', files: { 'cli/main.ts': [], 'orchestration/run.ts': ['cli/main.ts'] }, rule: 'orchestration-imports-jobs-lib' },
    { edge: 'agent → lib beyond storage', files: { 'lib/duckdb/session.ts': [], 'agent/agent.ts': ['lib/duckdb/session.ts'] }, rule: 'agent-imports-schemas-and-storage' },
    { edge: 'a cycle inside lib', files: { 'lib/staging/stage.ts': ['lib/sources/registry.ts'], 'lib/sources/registry.ts': ['lib/staging/stage.ts'] }, rule: 'lib-has-no-cycles' },
  ];
  it.each(backEdges)('fail on a back edge: $edge', async ({ files, rule }) => {
    const found = await violations(files);
    expect(found.filter((v) => v.startsWith(`${rule}:`))).not.toEqual([]);
  });
});
