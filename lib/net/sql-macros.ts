import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packagePath } from '../process/package-root.ts';

export const DEFAULT_MACRO_DIR = packagePath('sql', 'macros');

/** The SQL macro files, in filename order (a file may use macros from files sorting before it). */
export async function loadMacroFiles(dir: string = DEFAULT_MACRO_DIR): Promise<{ file: string; sql: string }[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return Promise.all(files.map(async (file) => ({ file: path.join(dir, file), sql: await readFile(path.join(dir, file), 'utf8') })));
}
