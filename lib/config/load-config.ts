import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { configSchema, type Config } from '../../schemas/config.ts';
import { parseYamlText, ValidationError } from './yaml-file.ts';
import { packagePath } from '../process/package-root.ts';

export const DEFAULT_CONFIG_FILE = 'netflow.config.yaml';
const ENV_PREFIX = 'NETFLOW_';
/** NETFLOW_ variables that are not configuration keys: the file to read, running the sources (bin/run-entry.mjs), and the test suites' switches. */
const NOT_CONFIGURATION = /^NETFLOW_(CONFIG|DEV|REQUIRE_SYSTEM_TESTS|CHROMIUM|TEST_[A-Z_]*|RELIABILITY_[A-Z_]*)$/;

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when only defaults and environment applied. */
  file: string | undefined;
  /** Relative paths in the configuration resolve against this folder. */
  baseDir: string;
}

/**
 * Defaults, then the file, then environment overrides (`NETFLOW_STORE__BUCKET=…`: nested keys
 * joined by `__`, values parsed as YAML scalars), then strict validation that reports every
 * unknown key and bad value at once. An explicitly named file must exist; the default one may not.
 */
export async function loadConfig(options: { file?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? (env.NETFLOW_CONFIG || undefined);
  const file = path.resolve(cwd, explicit ?? DEFAULT_CONFIG_FILE);
  let text = '';
  let found = true;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (explicit || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ValidationError(file, [`cannot read the configuration file: ${(error as Error).message}`]);
    }
    found = false;
  }
  const label = found ? file : 'configuration (defaults and environment)';
  const config = parseYamlText(label, text, configSchema, (raw) => applyEnvOverrides(raw, env));
  return { config, file: found ? file : undefined, baseDir: found ? path.dirname(file) : cwd };
}

export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const result: Record<string, unknown> = isRecord(raw) ? structuredClone(raw) : {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NOT_CONFIGURATION.test(name) || value === undefined) continue;
    const keys = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    let node = result;
    for (const key of keys.slice(0, -1)) {
      if (!isRecord(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = parseScalar(value);
  }
  return result;
}

function parseScalar(value: string): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SAMPLES_DIR = packagePath('data', 'samples');

/** Resolves a path from the configuration: relative to its file's folder, `@samples/…` to the bundled samples. */
export function resolveConfigPath(baseDir: string, value: string): string {
  if (value.startsWith('@samples/')) return path.join(SAMPLES_DIR, value.slice('@samples/'.length));
  return path.resolve(baseDir, value);
}
