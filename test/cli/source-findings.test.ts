import { describe, expect, it } from 'vitest';
import { EMPTY_COUNTS, type HourlyEtlResult, type SourceCounts } from '../../jobs/hourly-etl.ts';
import { formatSourceFindings, sourceFindingsOf } from '../../cli/source-findings.ts';
import type { AlertRow } from '../../schemas/tables/alerts.ts';

const counts = (partial: Partial<SourceCounts>): SourceCounts => ({ ...EMPTY_COUNTS, ...partial });
const alert = (observedBy: string[]) => ({ observed_by: observedBy }) as unknown as AlertRow;

describe('the per-source findings of the demo', () => {
  const hours: Pick<HourlyEtlResult, 'countsBySource' | 'alerts'>[] = [
    {
      countsBySource: {
        agent: counts({ objects: 3, records_read: 10, flows_published: 7, other_hour: 3 }),
        aws_vpc: counts({ objects: 2, records_read: 5, flows_published: 3, nodata: 1, skipdata: 1 }),
      },
      // One connection seen by an agent and an ENI flow log; a late_data alert, seen by nobody.
      alerts: [alert(['agent:i-1', 'agent:i-2', 'aws_vpc:eni-1']), alert([])],
    },
    {
      countsBySource: {
        gcp_vpc: counts({ objects: 1, records_read: 4, flows_published: 3, quarantined: 1, objects_quarantined: 1 }),
        agent: counts({ objects: 1, records_read: 2, flows_published: 2 }),
      },
      alerts: [alert(['gcp_vpc:DEST/vm-1'])],
    },
  ];

  it('adds up each source over the hours, in the sources order, then the total', () => {
    const rows = sourceFindingsOf(hours, { agent: 4, gcp_vpc: 1 });
    expect(rows).toEqual([
      { source: 'aws_vpc', objects: 2, objects_quarantined: 0, records_read: 5, flows_published: 3, other_hours: 0, nodata_skipdata: 2, quarantined: 0, violations: 0, alerts: 1 },
      { source: 'gcp_vpc', objects: 1, objects_quarantined: 1, records_read: 4, flows_published: 3, other_hours: 0, nodata_skipdata: 0, quarantined: 1, violations: 1, alerts: 1 },
      { source: 'agent', objects: 4, objects_quarantined: 0, records_read: 12, flows_published: 9, other_hours: 3, nodata_skipdata: 0, quarantined: 0, violations: 4, alerts: 1 },
      // An alert two sources observed counts in each source's row, once in the total; so does the late_data alert.
      { source: 'total', objects: 7, objects_quarantined: 1, records_read: 21, flows_published: 15, other_hours: 3, nodata_skipdata: 2, quarantined: 1, violations: 5, alerts: 3 },
    ]);
  });

  it('prints an aligned table for people', () => {
    const lines = formatSourceFindings(sourceFindingsOf(hours, {})).split('\n');
    expect(lines[0]).toBe('source  │ objects │ objects_quarantined │ records_read │ flows_published │ other_hours │ nodata_skipdata │ quarantined │ violations │ alerts');
    expect(lines[2]).toBe('aws_vpc │ 2       │ 0                   │ 5            │ 3               │ 0           │ 2               │ 0           │ 0          │ 1     ');
  });
});
