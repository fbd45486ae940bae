/**
 * Shared by the reliability suites: full or reduced counts, the seed, a seeded generator, and
 * one way to print figures (so `npm run reliability` output can be pasted into docs/reliability.md).
 */

/** `NETFLOW_RELIABILITY_FULL=1` (npm run reliability) runs the counts issue 8 asks for; npm test runs reduced ones. */
export const FULL = process.env.NETFLOW_RELIABILITY_FULL === '1';

/** Full count or reduced count. */
export function count(full: number, reduced: number): number {
  return FULL ? full : reduced;
}

/** The suite's seed: NETFLOW_RELIABILITY_SEED to replay a run, otherwise a fresh one (printed). */
export function suiteSeed(): number {
  const fromEnv = process.env.NETFLOW_RELIABILITY_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32 (test/support/seeded-random.ts): the suites pick offsets and faults with it. */
export { seededRandom } from '../../support/seeded-random.ts';

export function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

/** One line per figure on stderr, `[reliability] <suite> {json}`; vitest shows it with the test. */
export function reportFigures(suite: string, figures: Record<string, unknown>): void {
  process.stderr.write(`[reliability] ${suite} ${JSON.stringify({ mode: FULL ? 'full' : 'reduced', ...figures })}\n`);
}
