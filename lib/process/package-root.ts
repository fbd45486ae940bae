import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The package's name in package.json, which marks its root folder. */
const PACKAGE_NAME = 'netflow-lake';

/**
 * The folder of netflow-lake's package.json: where sql/, data/samples/ and the sources staging
 * bundles live. Found by walking up from this module's folder, because the module runs from the
 * sources (lib/process/) and from the compiled CLI (dist/, in a chunk whose depth esbuild picks),
 * so a fixed `..` count would be right for only one of them.
 */
export function packageRootFrom(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} in ${start} or any folder above it`);
  }
}

export const PACKAGE_ROOT = packageRootFrom(import.meta.dirname);

/** A path inside the package, e.g. packagePath('sql', 'macros'). */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}
