import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../support/require-tool.ts';
import { NETFLOW_BIN, netflow } from '../support/run-netflow.ts';

const run = promisify(execFile);
const script = requireTool('script', 'apt-get install -y util-linux');

/** A log line as a person reads it: level, UTC time, message, then key=value fields. */
const HUMAN_LINE = /^(DEBUG|INFO |WARN |ERROR) \d\d:\d\d:\d\d [a-z]/;

/** Runs `netflow` with stdout and stderr on a pseudo-terminal (`script`), as a person at a terminal would; both streams come back mixed. */
async function onTerminal(cwd: string, args: string[]): Promise<{ code: number; lines: string[] }> {
  const command = [process.execPath, NETFLOW_BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  let output: string;
  let code = 0;
  try {
    // -e: script exits with the command's code; -q: no "Script started" banner.
    output = (await run('script', ['-qec', command, '/dev/null'], { cwd, env: { ...process.env, NETFLOW_CONFIG: '' }, maxBuffer: 64 << 20 })).stdout;
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    [code, output] = [failed.code, failed.stdout];
  }
  // A progress line is redrawn with \r and cleared with ESC[K: each redraw is a line of its own here.
  const lines = output
    .replaceAll('\x1b[K', '')
    .split(/\r\n|\r|\n/)
    .filter((line) => line !== '');
  return { code, lines };
}

describe('logs and progress on a terminal and off it', { timeout: 300_000 }, () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'netflow-tty-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  script.it('a terminal gets human log lines and progress; --quiet and --log-format json change that', async () => {
    const demo = await onTerminal(cwd, ['demo']);
    expect(demo.code, demo.lines.join('\n')).toBe(0);
    expect(demo.lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(demo.lines.some((line) => /^INFO {2}\d\d:\d\d:\d\d objects discovered {2}hour=2024-05-01T13 .*objects=48 /.test(line))).toBe(true);
    // Staging counts objects and their bytes; every progress line has a rate and an ETA.
    expect(demo.lines.some((line) => /^\[#+\.*\] \d+\/48 objects staged \(2024-05-01T13\) {2}[\d.]+ k?B of [\d.]+ kB {2}[\d.]+\/s {2}eta \d+s$/.test(line))).toBe(true);
    expect(demo.lines.some((line) => /^\[#{30}\] (\d+)\/\1 models built \(2024-05-01T13\)/.test(line))).toBe(true);
    expect(demo.lines.some((line) => /^\[#{30}\] 6\/6 tables published \(2024-05-01T14\)/.test(line))).toBe(true);
    expect(demo.lines.some((line) => line.startsWith('hour 2024-05-01T14  PUBLISHED'))).toBe(true);

    const backfill = await onTerminal(cwd, ['backfill', '--from', '2024-05-01T13', '--to', '2024-05-01T14', '--force']);
    expect(backfill.code, backfill.lines.join('\n')).toBe(0);
    expect(backfill.lines.some((line) => /^\[#{30}\] 2\/2 hours {2}[\d.]+\/s {2}eta 0s$/.test(line))).toBe(true);
    const analytics = await onTerminal(cwd, ['analytics', '--from', '2024-05-01T13', '--to', '2024-05-01T14']);
    expect(analytics.code, analytics.lines.join('\n')).toBe(0);
    expect(analytics.lines.some((line) => /^\[#{30}\] 2\/2 hours analysed {2}[\d.]+\/s {2}eta 0s$/.test(line))).toBe(true);

    const quiet = await onTerminal(cwd, ['run', '--hour', '2024-05-01T13', '--quiet']);
    expect(quiet.code).toBe(0);
    expect(quiet.lines.filter((line) => HUMAN_LINE.test(line) || line.startsWith('[') || line.startsWith('{'))).toEqual([]);
    expect(quiet.lines.some((line) => line.startsWith('hour 2024-05-01T13  PUBLISHED'))).toBe(true);

    const json = await onTerminal(cwd, ['run', '--hour', '2024-05-01T13', '--log-format', 'json']);
    expect(json.code).toBe(0);
    expect(json.lines.filter((line) => HUMAN_LINE.test(line))).toEqual([]);
    expect(json.lines.some((line) => line.startsWith('{"ts":') && line.includes('"msg":"objects discovered"'))).toBe(true);
  });

  it('off a terminal, stderr holds JSON lines only; --quiet keeps warnings and errors only', async () => {
    const result = await netflow(cwd, ['demo', '--verbose']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(0);
    const parsed = lines.map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(parsed.some((line) => line.msg === 'objects discovered')).toBe(true);
    expect(result.stdout).toContain('hour 2024-05-01T13  PUBLISHED');

    const quiet = await netflow(cwd, ['run', '--hour', '2024-05-01T14', '--quiet']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toContain('hour 2024-05-01T14  PUBLISHED');
  });
});
