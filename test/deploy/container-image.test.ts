import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_ENTRIES } from '../../scripts/build-dist.ts';
import { REPO_ROOT } from '../support/lake-fixture.ts';

/**
 * What the worker image holds, checked without building it (no container runtime here): every
 * module the entry point and the CLI can load is copied by deploy/container/Dockerfile, and every
 * package they import is a runtime dependency (the image installs with `npm ci --omit=dev`).
 */
const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'container', 'Dockerfile');
/** The entry point, the CLI, and what npm ci's prepare step compiles into dist/ inside the image. */
const ENTRY_POINTS = ['deploy/container/entrypoint.mjs', 'bin/netflow.mjs', 'bin/run-entry.mjs', 'scripts/build-dist.ts', ...Object.values(DIST_ENTRIES)];

/** Static and dynamic imports with a literal specifier; `import type` is erased and needs nothing at run time. */
const IMPORT = /(?:^|\n)\s*(?:import(?!\s+type\b)[^'";]*?from\s*|export[^'";]*?from\s*|import\s*)['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

async function reachable(): Promise<{ files: Set<string>; packages: Set<string> }> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [...ENTRY_POINTS];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = await readFile(path.join(REPO_ROOT, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith('.')) pending.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  }
  return { files, packages };
}

/** The sources of the Dockerfile's COPY instructions (every argument but the destination). */
async function copiedPaths(): Promise<string[]> {
  const text = await readFile(DOCKERFILE, 'utf8');
  return [...text.matchAll(/^COPY\s+(.+)$/gm)].flatMap((match) => match[1]!.trim().split(/\s+/).slice(0, -1));
}

describe('the worker image', () => {
  it('copies every module the entry point and the CLI can load', async () => {
    const copied = await copiedPaths();
    const { files } = await reachable();
    expect(files.size).toBeGreaterThan(100);
    const missing = [...files].filter((file) => !copied.some((source) => file === source || file.startsWith(`${source}/`)));
    expect(missing).toEqual([]);
  });

  it('imports only runtime dependencies (npm ci --omit=dev leaves the others out)', async () => {
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const { packages } = await reachable();
    expect(packages.size).toBeGreaterThan(3);
    expect([...packages].filter((name) => !(name in manifest.dependencies))).toEqual([]);
  });

  it('runs as a user of its own, not root, with the configuration at the path the manifests mount', async () => {
    const text = await readFile(DOCKERFILE, 'utf8');
    expect(text).toMatch(/^FROM node:20-slim$/m);
    expect(text).toMatch(/^RUN npm ci --omit=dev/m);
    expect(text).toMatch(/^USER 10001:10001$/m);
    expect(text).toContain('NETFLOW_CONFIG=/etc/netflow/netflow.yaml');
    expect(text).toContain('ENTRYPOINT ["node", "/opt/netflow-lake/deploy/container/entrypoint.mjs"]');
  });
});
