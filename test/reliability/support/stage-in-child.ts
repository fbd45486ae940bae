/**
 * Stages a list of files as text lines in a process of its own, the way a run does on two cores:
 * two files at a time, one in a worker thread and one in the main thread (StagingPool). Prints one
 * JSON document: each file's outcome and the process's peak resident set size, the worker
 * thread's included. A child process, so that the peak RSS measured is that of staging alone and
 * not of the test runner.
 *
 *   node --import tsx stage-in-child.ts '<json: { files: string[], outDir: string, limits: StageLimits }>'
 */
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ObjectUnreadableError, type StageLimits } from '../../../lib/staging/stage-lines.ts';
import { StagingPool } from '../../../lib/staging/staging-pool.ts';
import { STAGING_SOURCES } from '../../../lib/sources/staging-sources.ts';

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
const pool = new StagingPool({ sources: STAGING_SOURCES, workers: 1, inThread: true });
const outcomes = await Promise.all(
  files.map(async (file, index): Promise<ChildFileOutcome> => {
    const out = path.join(outDir, `${index}.txt`);
    try {
      // A source staged as plain lines, with nothing computed per line: the files test the stager.
      const result = await pool.stage({ sourceType: 'gcp_vpc', staging: 'lines', formatHint: undefined, rawPath: file, linesPath: out, limits }, file);
      const staged = result.bytesOut < 1 << 20 ? await readFile(out, 'utf8') : null;
      return {
        file,
        unreadable: null,
        stagedLines: result.stagedLines,
        rejected: result.rejected.slice(0, 20).map((r) => ({ line: r.line, reason: r.reason, textBytes: Buffer.byteLength(r.text) })),
        stagedText:
          staged === null
            ? null
            : staged
                .split('\n')
                .filter(Boolean)
                .map((line) => line.slice(line.indexOf('\x1f') + 1))
                .join('\n'),
        bytesIn: result.bytesIn,
        bytesOut: result.bytesOut,
      };
    } catch (error) {
      if (!(error instanceof ObjectUnreadableError)) throw error;
      return { file, unreadable: error.message, stagedLines: 0, rejected: [], stagedText: null, bytesIn: 0, bytesOut: 0 };
    } finally {
      await rm(out, { force: true });
    }
  }),
);
await pool.close();
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
