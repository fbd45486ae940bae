/**
 * Runs stageLines over a list of files in a process of its own and prints one JSON document:
 * each file's outcome and the process's peak resident set size. A child process, so that the peak
 * RSS measured is that of staging alone and not of the test runner.
 *
 *   node --import tsx stage-in-child.ts '<json: { files: string[], outDir: string, limits: StageLimits }>'
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ObjectUnreadableError, stageLines, type StageLimits } from '../../../lib/staging/stage-lines.ts';

export interface ChildFileOutcome {
  file: string;
  unreadable: string | null;
  stagedLines: number;
  rejected: { line: number; reason: string; textBytes: number }[];
  /** The staged lines without their line-number prefix, only for files under 1 MiB of output. */
  stagedText: string | null;
  bytesIn: number;
  bytesOut: number;
}

const { files, outDir, limits } = JSON.parse(process.argv[2]!) as { files: string[]; outDir: string; limits: StageLimits };
const outcomes: ChildFileOutcome[] = [];
for (const [index, file] of files.entries()) {
  const out = path.join(outDir, `${index}.txt`);
  try {
    const result = await stageLines(file, out, limits);
    const staged = result.bytesOut < 1 << 20 ? await readFile(out, 'utf8') : null;
    outcomes.push({
      file,
      unreadable: null,
      stagedLines: result.stagedLines,
      rejected: result.rejected.slice(0, 20).map((r) => ({ line: r.line, reason: r.reason, textBytes: Buffer.byteLength(r.text) })),
      stagedText: staged === null ? null : staged.split('\n').filter(Boolean).map((line) => line.slice(line.indexOf('\x1f') + 1)).join('\n'),
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
    });
  } catch (error) {
    if (!(error instanceof ObjectUnreadableError)) throw error;
    outcomes.push({ file, unreadable: error.message, stagedLines: 0, rejected: [], stagedText: null, bytesIn: 0, bytesOut: 0 });
  } finally {
    await rm(out, { force: true });
  }
}
process.stdout.write(JSON.stringify({ outcomes, peakRssBytes: peakRssOfThisProgram() }));

/**
 * Not process.resourceUsage().maxRSS: Linux carries that figure across exec, so it starts at the
 * resident size of the parent at fork time (the test runner, which may hold a 1 GiB fixture) and
 * the stager was blamed for it. VmHWM is the high-water mark of this program's own address space.
 */
function peakRssOfThisProgram(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // No procfs (not Linux): maxRSS, which there is not inherited across exec.
  }
  return process.resourceUsage().maxRSS * 1024;
}
