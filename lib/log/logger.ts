import { redactSecrets } from './redact.ts';

/**
 * Logs on stderr: JSON lines (one object per line) off a terminal, or short human lines on one
 * (`INFO  15:23:06 objects discovered  objects=3 run_id=…`). The format is chosen when the logger is
 * created. JSON lines, so stdout stays free for a command's
 * output (query results, NDJSON). Messages are lowercase; details go in fields; every string
 * goes through the redaction (lib/log/redact.ts, which imports nothing either). The one logger of
 * the jobs, the CLI and the agent (it imports no DuckDB, so the agent may use it).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** `json` for machines (the default), `human` for a person at a terminal. */
export type LogFormat = 'json' | 'human';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
  format?: LogFormat;
  /** Applied to every string of every line (lib/log/redact.ts); default: URLs' user info and query, credential shapes. */
  redact?: (text: string) => string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};
  const redact = options.redact ?? ((text: string) => redactSecrets(text));
  const replacer = (key: string, value: unknown): unknown => {
    const safe = jsonSafe(key, value);
    return typeof safe === 'string' ? redact(safe) : safe;
  };
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const now = new Date();
    if (options.format === 'human') write(`${redact(humanLine(now, level, msg, { ...base, ...fields }))}\n`);
    else write(`${JSON.stringify({ ts: now.toISOString(), level, msg, ...base, ...fields }, replacer)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** `WARN  15:23:06 message  key=value …`: time in UTC, like the hours it names; the whole line is redacted by the caller. */
function humanLine(now: Date, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${humanValue(value)}`);
  return `${level.toUpperCase().padEnd(5)} ${now.toISOString().slice(11, 19)} ${msg}${pairs.length ? `  ${pairs.join(' ')}` : ''}`;
}

function humanValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(errorText(value));
  return JSON.stringify(value, jsonSafe) ?? String(value);
}

/** An error and its causes on one line: `publish failed: upload x: ECONNRESET`. */
function errorText(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth <= MAX_CAUSES; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Error) return errorJson(value, 0);
  return value;
}

/** How deep a cause chain is written; a chain that cycles back stops here too. */
const MAX_CAUSES = 8;

/**
 * What caused an error, outermost first, one line each (`name: message`, with a system error's
 * code): for records that hold text, such as the run ledger. Not redacted: the caller redacts.
 */
export function errorCauses(error: unknown): string[] {
  const causes: string[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined && causes.length < MAX_CAUSES) {
    if (!(cause instanceof Error)) {
      causes.push(typeof cause === 'string' ? cause : (JSON.stringify(cause) ?? String(cause)));
      break;
    }
    const code = (cause as NodeJS.ErrnoException).code;
    causes.push(`${cause.name}: ${cause.message}${code !== undefined ? ` (${code})` : ''}`);
    cause = cause.cause;
  }
  return causes;
}

/**
 * An error as the log keeps it: name, message, a system error's code, and its `cause` chain, so
 * that "publish failed" still says which upload failed and why. Stacks stay out of the log.
 */
export function errorJson(error: Error, depth: number): Record<string, unknown> {
  const code = (error as NodeJS.ErrnoException).code;
  const json: Record<string, unknown> = { name: error.name, message: error.message, ...(code !== undefined ? { code } : {}) };
  if (error.cause !== undefined && depth < MAX_CAUSES) json.cause = error.cause instanceof Error ? errorJson(error.cause, depth + 1) : error.cause;
  return json;
}
