import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../cli/main.ts';
import { parseReportPeriod, periodFolderDate, periodLabel } from '../../lib/reports/report-period.ts';

/** The report, recommend and analytics commands: help, usage errors (exit 2) before any work, period parsing. */
let cwd: string;

async function netflow(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), cwd, env: {} });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'netflow-report-cli-'));
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('report, recommend and analytics commands', () => {
  test('are listed and documented', async () => {
    const help = await netflow(['--help']);
    for (const command of ['report', 'recommend', 'analytics']) {
      expect(help.stdout).toContain(`  ${command}`);
      const own = await netflow([command, '--help']);
      expect(own.code).toBe(0);
      expect(own.stdout).toMatch(new RegExp(`^netflow ${command}`));
    }
  });

  test.each([
    { args: ['report'], message: 'report needs a kind: compliance or capacity (or verify), got nothing' },
    { args: ['report', 'verify', '--kind', 'security'], message: '--kind takes compliance or capacity, got "security"' },
    { args: ['report', 'verify', '--from', '2024-05-01'], message: 'report verify takes --from and --to together' },
    { args: ['report', 'verify', '--format', 'csv'], message: 'report verify --format takes table or json, got "csv"' },
    { args: ['report', 'verify', '--kind', 'compliance', '--expect-head', 'abc'], message: '--expect-head takes a SHA-256 (64 lowercase hex digits), got "abc"' },
    { args: ['report', 'verify', '--expect-head', 'a'.repeat(64)], message: '--expect-head anchors one chain: give --kind' },
    { args: ['report', 'verify', '--out', 'x'], message: '--out is for writing reports, not for report verify' },
    { args: ['report', 'compliance', '--from', '2024-05-01', '--to', '2024-05-01', '--inputs'], message: '--inputs is for report verify' },
    { args: ['report', 'security', '--from', '2024-05-01', '--to', '2024-05-01'], message: 'got "security"' },
    { args: ['report', 'compliance', '--from', '2024-05-01'], message: 'report needs --from and --to' },
    { args: ['report', 'compliance', '--from', '2024-05-01', '--to', '2024-04-30'], message: 'must not be before --from' },
    { args: ['report', 'capacity', '--from', '2024-02-30', '--to', '2024-03-01'], message: '--from must be a UTC date (2024-05-01) or hour (2024-05-01T13), got "2024-02-30"' },
    { args: ['report', 'compliance', '--from', '2024-05-01', '--to', '2024-05-01', '--format', 'pdf'], message: '--format takes html, json and csv' },
    { args: ['recommend', '--to', '2024-05-01'], message: 'recommend needs --from and --to' },
    { args: ['analytics'], message: 'analytics needs --from' },
    { args: ['analytics', '--from', '2024-05-01T25'], message: '--from must be a UTC date' },
  ])('exit 2: $args', async ({ args, message }) => {
    const result = await netflow(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test.each([
    { from: '2024-05-01', to: '2024-05-01', start: '2024-05-01T00', end: '2024-05-02T00', label: '2024-05-01', folder: '2024-05-01' },
    { from: '2024-05-01', to: '2024-05-07', start: '2024-05-01T00', end: '2024-05-08T00', label: '2024-05-01_2024-05-07', folder: '2024-05-07' },
    { from: '2024-05-01T13', to: '2024-05-01T14', start: '2024-05-01T13', end: '2024-05-01T15', label: '2024-05-01T13_2024-05-01T14', folder: '2024-05-01' },
    { from: '2024-05-01T23', to: '2024-05-01T23', start: '2024-05-01T23', end: '2024-05-02T00', label: '2024-05-01T23', folder: '2024-05-01' },
  ])('period $from .. $to: both ends inclusive', ({ from, to, start, end, label, folder }) => {
    const period = parseReportPeriod(from, to);
    expect([period.from.toISOString().slice(0, 13), period.to.toISOString().slice(0, 13), periodLabel(period), periodFolderDate(period)]).toEqual([start, end, label, folder]);
  });
});
