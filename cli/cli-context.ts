import type { Config } from '../schemas/config.ts';
import { loadConfig } from '../lib/config/load-config.ts';
import { createLogger, type LogFormat, type Logger, type LogLevel } from '../lib/log/logger.ts';
import type { ObjectStore } from '../lib/storage/object-store.ts';
import { LocalFolderStore } from '../lib/storage/local-folder-store.ts';
import path from 'node:path';
import { redactSecrets, secretsOf } from '../lib/log/redact.ts';
import type { CliIo } from './cli-io.ts';

/** What every command needs: the validated configuration, its base folder, the store and a logger. */
export interface CliContext {
  config: Config;
  configFile: string | undefined;
  baseDir: string;
  store: ObjectStore;
  logger: Logger;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress on stderr: only on a terminal, and not with --quiet. */
  showProgress?: boolean;
}

/** Clears a progress line drawn on the terminal before a log line is written over it. */
const CLEAR_LINE = '\r\x1b[K';

/** What the common options chose for the logs; unset parts come from the configuration and the terminal. */
export interface LoggingChoice {
  level?: LogLevel;
  format?: LogFormat;
  quiet?: boolean;
}

export async function createContext(io: CliIo, configFile: string | undefined, logging: LoggingChoice = {}): Promise<CliContext> {
  const loaded = await loadConfig({ ...(configFile ? { file: configFile } : {}), cwd: io.cwd, env: io.env });
  const level = logging.level ?? loaded.config.log.level;
  const format = logging.format ?? (io.stderrIsTerminal ? 'human' : 'json');
  // Every log line is scrubbed of the secret values this process can hold (store credentials, sinks' URLs and keys).
  const secrets = secretsOf(loaded.config.alerts.sinks, io.env);
  const logger = createLogger({ level, format, write: io.stderrIsTerminal ? (line) => io.stderr(`${CLEAR_LINE}${line}`) : io.stderr, redact: (text) => redactSecrets(text, secrets) });
  return {
    config: loaded.config,
    configFile: loaded.file,
    baseDir: loaded.baseDir,
    store: await objectStoreOf(loaded.config, loaded.baseDir),
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    showProgress: io.stderrIsTerminal === true && !logging.quiet,
  };
}

/** The configured store; the S3 and Azure SDKs load only when the store is theirs (they cost about a second of start-up). */
async function objectStoreOf(config: Config, baseDir: string): Promise<ObjectStore> {
  if (config.store.type === 'local') return new LocalFolderStore(path.resolve(baseDir, config.store.path));
  const { createObjectStore } = await import('../lib/storage/create-object-store.ts');
  return createObjectStore(config.store, { baseDir });
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
