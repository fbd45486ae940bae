/**
 * The anomaly bench: `npm run bench:anomalies [-- --seeds 7,11 --days 8 --events-per-kind 4]`.
 *
 * For each seed: generates `--days` of background traffic (a monitoring host, web servers
 * answering new internet clients every hour, a day/night cycle, a nightly backup) with
 * `--events-per-kind` of each injected event on the last day (fan-out, horizontal and vertical
 * scans, new talkers, volume spikes, slow exfiltration; test/anomalies/support/labelled-traffic.ts),
 * publishes it to a throwaway lake, runs the analytics job over the last day and scores the
 * published anomalies per event: precision (findings an event explains), recall (events found by
 * a finding of their kind) and findings per event found. Targets: ≥ 0.95, ≥ 0.95, ≤ 1.5; exits 1
 * below them. Last line of output: one JSON object.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { runHourlyAnalytics } from '../jobs/hourly-analytics.ts';
import { scoreFindings, type EventScores, type Finding } from '../test/anomalies/support/event-scores.ts';
import { publishGeneratedFlows } from '../test/anomalies/support/flow-lake.ts';
import { generateLabelledTraffic } from '../test/anomalies/support/labelled-traffic.ts';
import { createLakeFixture } from '../test/support/lake-fixture.ts';
import { queryLake } from '../test/support/read-lake.ts';

const TARGETS = { precision: 0.95, recall: 0.95, findingsPerEvent: 1.5 };

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '7,11' },
    days: { type: 'string', default: '8' },
    'events-per-kind': { type: 'string', default: '4' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const days = Number(values.days);
const eventsPerKind = Number(values['events-per-kind']);
if (seeds.some((seed) => !Number.isInteger(seed)) || !(days >= 7) || !(eventsPerKind >= 1 && eventsPerKind <= 4)) {
  throw new Error('--seeds takes integers, --days at least 7 (a week of volume baseline), --events-per-kind 1 to 4 (each event takes an hour of its own)');
}

const runs: (EventScores & { seed: number; flows: number; seconds: number })[] = [];
for (const seed of seeds) {
  const started = performance.now();
  const lake = await createLakeFixture({ config: { analytics: { volume: { baseline_days: days - 1 } } } });
  try {
    const traffic = generateLabelledTraffic({ days, seed, eventsPerKind });
    await publishGeneratedFlows({ store: lake.store, workDir: path.join(lake.dir, 'work'), logger: lake.logger, flows: traffic.flows });
    const result = await runHourlyAnalytics({
      config: lake.config,
      baseDir: lake.dir,
      store: lake.store,
      logger: lake.logger,
      from: traffic.evalDay,
      to: new Date(traffic.evalDay.getTime() + 86_400_000),
      alertSinks: [],
    });
    if (result.error) throw new Error(`analytics failed for seed ${seed}: ${result.error}`);
    const findings = await queryLake<Finding>(lake, `SELECT kind, strftime(hour_at, '%Y-%m-%dT%H') AS hour, subject, src_ip FROM anomalies`);
    const scores = scoreFindings(traffic.events, findings);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    runs.push({ seed, flows: traffic.flows.length, seconds, ...scores });
    console.log(
      `seed ${seed}: ${traffic.flows.length} flow records, ${scores.events} events, ${scores.findings} findings: precision ${scores.precision.toFixed(3)}, recall ${scores.recall.toFixed(3)}, ${scores.findingsPerEvent.toFixed(2)} findings per event (${seconds} s)`,
    );
    for (const missed of scores.missed) console.log(`  missed: ${missed}`);
    for (const finding of scores.unexplained) console.log(`  unexplained: ${finding.hour} ${finding.kind} ${finding.subject}`);
  } finally {
    await lake.cleanup();
  }
}

const sum = (pick: (run: (typeof runs)[number]) => number) => runs.reduce((total, run) => total + pick(run), 0);
const found = sum((run) => run.recall * run.events);
const correct = sum((run) => run.findingsPerEvent * run.recall * run.events);
const total = {
  events: sum((run) => run.events),
  findings: sum((run) => run.findings),
  precision:
    correct /
    Math.max(
      sum((run) => run.findings),
      1,
    ),
  recall:
    found /
    Math.max(
      sum((run) => run.events),
      1,
    ),
  findingsPerEvent: found === 0 ? 0 : correct / found,
};
const met = total.precision >= TARGETS.precision && total.recall >= TARGETS.recall && total.findingsPerEvent <= TARGETS.findingsPerEvent;
console.log(
  `all seeds: precision ${total.precision.toFixed(3)} (≥ ${TARGETS.precision}), recall ${total.recall.toFixed(3)} (≥ ${TARGETS.recall}), ${total.findingsPerEvent.toFixed(2)} findings per event (≤ ${TARGETS.findingsPerEvent}): ${met ? 'targets met' : 'BELOW TARGET'}`,
);
console.log(
  JSON.stringify({
    bench: 'anomalies',
    days,
    eventsPerKind,
    targets: TARGETS,
    met,
    total,
    runs: runs.map(({ unexplained, missed, ...run }) => ({ ...run, missed: missed.length, unexplained: unexplained.length })),
  }),
);
process.exitCode = met ? 0 : 1;
