// Picks how bin/netflow.mjs and bin/netflow-agent.mjs run: the compiled JavaScript in dist/
// (scripts/build-dist.ts, built by `npm ci`), which starts in a fraction of the time, or the
// TypeScript sources through tsx. dist/ runs only while it is as new as every source it was built
// from, so a developer who edits a source runs the edit (through tsx) until the next
// `npm run build`; NETFLOW_DEV=1 always runs the sources (the test suites set it).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');

/** The entry's `main`: from dist/<name>.js when fresh, else from `source` (relative to the package root) through tsx. */
export async function loadMain(name, source) {
  const compiled = process.env.NETFLOW_DEV === '1' ? undefined : freshCompiledEntry(ROOT, name);
  if (compiled) return (await import(pathToFileURL(compiled).href)).main;
  const { register } = await import('tsx/esm/api');
  register();
  return (await import(pathToFileURL(path.join(ROOT, source)).href)).main;
}

/** `root`/dist/<name>.js if it exists and no source listed in dist/build-info.json changed (or went) since the build; ~2 ms of stats. */
export function freshCompiledEntry(root, name) {
  try {
    const dist = path.join(root, 'dist');
    const info = JSON.parse(readFileSync(path.join(dist, 'build-info.json'), 'utf8'));
    for (const input of info.inputs) {
      if (statSync(path.join(root, input)).mtimeMs > info.built_at_ms) return undefined;
    }
    const entry = path.join(dist, `${name}.js`);
    statSync(entry);
    return entry;
  } catch {
    return undefined;
  }
}
