import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceOf, runEnrich, type FlowInput } from './enrich-harness.ts';

/**
 * The counting rule (enrich/connection_observations.sql, which compares records per minute after a
 * hash prefilter) against its definition written out by brute force: every record compared with
 * every other, on random small hours of agents, ENIs and Azure VNet tuples with and without
 * answers, in both orientations, overlapping or not. Each random connection has addresses of its
 * own, so one DuckDB run checks a whole batch.
 */
const observers = { agent: (i: number) => `vm-${i}`, aws_vpc: (i: number) => `eni-${i}`, azure_vnet: (i: number) => `MAC${i}` } as const;
type Kind = keyof typeof observers;

const recordArbitrary = fc.record({
  kind: fc.constantFrom<Kind>('agent', 'aws_vpc', 'azure_vnet'),
  observer: fc.integer({ min: 0, max: 2 }),
  isAnswerDirection: fc.boolean(),
  clientPort: fc.constantFrom(40000, 40001),
  direction: fc.constantFrom('ingress', 'egress', null),
  startSecond: fc.integer({ min: 0, max: 420 }),
  seconds: fc.integer({ min: 0, max: 150 }),
  reverseBytes: fc.option(fc.integer({ min: 0, max: 5000 }), { freq: 2 }),
});

const hourArbitrary = fc.array(fc.array(recordArbitrary, { minLength: 1, maxLength: 6 }), { minLength: 20, maxLength: 40 });

const at = (second: number) => new Date(Date.UTC(2024, 4, 1, 13, 0, second)).toISOString().replace('Z', '');

type RecordSpec = typeof recordArbitrary extends fc.Arbitrary<infer R> ? R : never;

function flowsOf(hour: readonly (readonly RecordSpec[])[]): FlowInput[] {
  return hour.flatMap((connection, c) =>
    connection.map((record, r): FlowInput => {
      const [client, server] = [`10.50.${c}.1`, `10.60.${c}.2`];
      const [src_ip, dst_ip, src_port, dst_port] = record.isAnswerDirection ? [server, client, 443, record.clientPort] : [client, server, record.clientPort, 443];
      const observer = observers[record.kind](record.observer);
      const azure = record.kind === 'azure_vnet';
      return {
        flow_id: `c${c}/r${r}`,
        source_type: record.kind,
        ...(record.kind === 'agent' ? { observer_vm_id: observer } : record.kind === 'aws_vpc' ? { interface_id: observer } : { mac_address: observer }),
        direction: record.direction,
        start_at: at(record.startSecond),
        end_at: at(record.startSecond + (azure ? 0 : record.seconds)),
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        reverse_bytes: azure ? record.reverseBytes : null,
      };
    }),
  );
}

interface Observation {
  name: string;
  flowId: string;
  point: string;
  tuple: string;
  answerTuple: string;
  hasAnswer: boolean;
  windowStart: number;
  windowEnd: number;
  rank: string;
}

interface Outcome {
  counts: boolean;
  countedFlowId: string;
  observedBy: string[];
}

/** The rule as docs/sources.md states it, every record compared with every other. */
function countedByDefinition(observations: readonly Observation[]): Map<string, Outcome> {
  const overlaps = (a: Observation, b: Observation) => a.point !== b.point && b.windowStart <= a.windowEnd && a.windowStart <= b.windowEnd;
  const best = (list: readonly Observation[]) => list.reduce<Observation | undefined>((min, o) => (min === undefined || o.rank < min.rank ? o : min), undefined);
  const requestRivals = (a: Observation) => observations.filter((b) => b.tuple === a.tuple && overlaps(a, b));
  const countsItsRequest = (a: Observation) => {
    const rival = best(requestRivals(a));
    return rival === undefined || a.rank < rival.rank;
  };
  return new Map(
    observations.map((a) => {
      const rivals = requestRivals(a);
      // Tuples carrying the answer to a's request, and the records of the answer a carries.
      const answerers = observations.filter((b) => b.hasAnswer && b.answerTuple === a.tuple && overlaps(a, b));
      const answered = a.hasAnswer ? observations.filter((b) => b.tuple === a.answerTuple && overlaps(a, b)) : [];
      const answering = best(answerers.filter(countsItsRequest));
      const bestRival = best(rivals);
      const countedBy = answering && !(a.hasAnswer && a.rank < answering.rank) ? answering : bestRival && bestRival.rank < a.rank ? bestRival : a;
      const observedBy = [...new Set([a, ...rivals, ...answerers, ...answered].map((o) => o.point))].sort();
      return [a.name, { counts: countedBy === a, countedFlowId: countedBy.flowId, observedBy }];
    }),
  );
}

describe('counted once: the model agrees with the rule written out by brute force', () => {
  it('on random hours of agents, ENIs and Azure tuples with answers', async () => {
    await fc.assert(
      fc.asyncProperty(hourArbitrary, async (hour) => {
        const flows = flowsOf(hour);
        const enriched = await runEnrich(flows, referenceOf({}));
        try {
          const rows = await enriched.session.all<{ name: string; flow_id: string; counts_in_totals: boolean; counted_flow_id: string; observed_by: string[] }>(
            'SELECT raw_object_key AS name, flow_id, counts_in_totals, counted_flow_id, observed_by FROM flows',
          );
          const flowIdOf = new Map(rows.map((row) => [row.name, row.flow_id]));
          const observations = flows.map((flow): Observation => {
            const tuple = (a: string, ap: number | undefined, b: string, bp: number | undefined) => `${a}|${ap}|${b}|${bp}`;
            const startS = Date.parse(`${flow.start_at}Z`) / 1000;
            const endS = Date.parse(`${flow.end_at}Z`) / 1000;
            const azure = flow.source_type === 'azure_vnet';
            const flowId = flowIdOf.get(flow.flow_id)!;
            const side = flow.direction === 'ingress' ? 0 : flow.direction === 'egress' ? 1 : 2;
            const kind = flow.source_type === 'agent' ? 3 : 1;
            return {
              name: flow.flow_id,
              flowId,
              point: `${flow.source_type}:${flow.observer_vm_id ?? flow.interface_id ?? flow.mac_address}`,
              tuple: tuple(flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port),
              answerTuple: tuple(flow.dst_ip, flow.dst_port, flow.src_ip, flow.src_port),
              hasAnswer: flow.reverse_bytes !== null && flow.reverse_bytes !== undefined,
              windowStart: startS - 1,
              windowEnd: azure ? startS + 60 : endS + 1,
              rank: `${side}${kind}${flowId}`,
            };
          });
          const expected = countedByDefinition(observations);
          const actual = new Map(rows.map((row) => [row.name, { counts: row.counts_in_totals, countedFlowId: row.counted_flow_id, observedBy: [...row.observed_by] }]));
          expect(actual).toEqual(expected);
        } finally {
          await enriched.close();
        }
      }),
      { numRuns: 6 },
    );
  });
});
