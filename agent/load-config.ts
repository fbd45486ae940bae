import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { agentConfigSchema, type AgentConfig } from '../schemas/agent-config.ts';

export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A nested partial configuration from flags, laid over the file. */
export type ConfigOverrides = Record<string, unknown>;

/** Defaults → file → flags, validated at once; every problem is reported together. */
export async function loadAgentConfig(file: string | undefined, overrides: ConfigOverrides): Promise<AgentConfig> {
  let fromFile: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
      fromFile = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError(`configuration file ${file} is not valid YAML: ${(error as Error).message}`, { cause: error });
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new ConfigError(`configuration file ${file} must hold a mapping`);
  }
  const merged = deepMerge(fromFile as Record<string, unknown>, overrides);
  const result = agentConfigSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const existing = out[key];
    if (isPlainObject(value) && isPlainObject(existing)) out[key] = deepMerge(existing, value);
    else out[key] = value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
