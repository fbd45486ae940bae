import type { Config } from '../schemas/config.ts';
import { loadConfig } from '../lib/config/load-config.ts';
import { createLogger, type Logger } from '../lib/log/logger.ts';
import { createObjectStore } from '../lib/storage/create-object-store.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { redactSecrets, secretsOf } from '../lib/log/redact.ts';

/** What every command needs: the validated configuration, its base folder, the store and a logger. */
export interface CliContext {
  config: Config;
  configFile: string | undefined;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): CliIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
});

export async function createContext(io: CliIo, configFile: string | undefined, logLevel?: string): Promise<CliContext> {
  const loaded = await loadConfig({ ...(configFile ? { file: configFile } : {}), cwd: io.cwd, env: io.env });
  const level = (logLevel ?? loaded.config.log.level) as Config['log']['level'];
  // Every log line is scrubbed of the secret values this process can hold (store credentials, sinks' URLs and keys).
  const secrets = secretsOf(loaded.config.alerts.sinks, io.env);
  const logger = createLogger({ level, write: io.stderr, redact: (text) => redactSecrets(text, secrets) });
  return {
    config: loaded.config,
    configFile: loaded.file,
    baseDir: loaded.baseDir,
    store: createObjectStore(loaded.config.store, { baseDir: loaded.baseDir }),
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
  };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `2024-05-01T13` (or a full ISO time on the hour) as the start of a UTC hour. */
export function parseHour(text: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})(?::00(?::00(?:\.0+)?)?)?Z?$/.exec(text);
  const hour = match ? new Date(`${match[1]}T${match[2]}:00:00Z`) : undefined;
  if (!hour || Number.isNaN(hour.getTime()) || hour.toISOString().slice(0, 13) !== `${match![1]}T${match![2]}`) {
    throw new UsageError(`--hour must be a UTC hour such as 2024-05-01T13, got "${text}"`);
  }
  return hour;
}
