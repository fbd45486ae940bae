import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const AGENT_BIN = path.resolve(import.meta.dirname, '../../../bin/netflow-agent.mjs');

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** The real `netflow-agent` bin as a child process, with its JSON logs parsed as they arrive. */
export class AgentProcess {
  readonly logs: LogLine[] = [];
  readonly stdout: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: { predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  readonly child: ChildProcess;

  /** `netns` runs the agent inside a network namespace; `wrap` puts a command (setpriv …) in front. */
  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; netns?: string; wrap?: string[] } = {}) {
    const base = [process.execPath, AGENT_BIN, ...args];
    const command = options.netns ? ['ip', 'netns', 'exec', options.netns, ...base] : [...(options.wrap ?? []), ...base];
    this.child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: 'raw', msg: line };
      }
      this.logs.push(parsed);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(parsed)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(parsed);
        }
      }
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.stdout.push(line));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first log line (past or future) that matches; rejects after `timeoutMs`. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `agent log never matched within ${timeoutMs} ms; last lines:\n${this.logs
              .slice(-15)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `agent exited (code ${code}, signal ${signal}) before the expected log; last lines:\n${this.logs
              .slice(-15)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    values.set(name!, Number(value));
  }
  return values;
}
