import type { HourlyEtlResult } from '../jobs/hourly-etl.ts';

/** The human summary of one hourly run, printed on stdout. */
export function formatRunSummary(result: HourlyEtlResult): string {
  const c = result.counts;
  const lines = [`hour ${result.hour}  ${result.status.toUpperCase()}  run ${result.runId || '-'}  attempt ${result.attemptId}  ${((result.durationsMs.total ?? 0) / 1000).toFixed(2)} s`];
  if (result.error) lines.push(`  error: ${result.error}`);
  const bySource = Object.entries(result.countsBySource)
    .map(([source, counts]) => `${source} ${counts.objects}`)
    .join(', ');
  lines.push(`  objects read: ${c.objects}${bySource ? ` (${bySource})` : ''}; quarantined whole: ${c.objects_quarantined}`);
  if (result.listing)
    lines.push(`  listing: ${result.listing.requests} request(s), ${result.listing.keys} key(s) listed, ${result.listing.skipped} entr${result.listing.skipped === 1 ? 'y' : 'ies'} skipped`);
  lines.push(
    `  records read ${c.records_read} = flows published ${c.flows_published} + other hours ${c.other_hour} + late ${c.late} + nodata ${c.nodata} + skipdata ${c.skipdata} + quarantined ${c.quarantined}` +
      (c.records_read === c.flows_published + c.other_hour + c.late + c.nodata + c.skipdata + c.quarantined ? '  (reconciled)' : '  (DOES NOT RECONCILE)'),
  );
  if (result.tables.length > 0) lines.push(`  published: ${result.tables.map((table) => `${table.table} ${table.rows}`).join(', ')}`);
  if (result.alerts.length > 0) {
    lines.push(`  alerts (${result.alerts.length}):`);
    for (const alert of result.alerts) {
      const subject = alert.rule_kind === 'late_data' ? `hour ${alert.hour_at.toISOString().slice(0, 13)}` : `${alert.src_ip} -> ${alert.dst_ip}:${alert.dst_port ?? '-'}`;
      lines.push(
        `    ${alert.severity.padEnd(8)} ${alert.rule_id.padEnd(30)} ${subject}  ${alert.flow_count} ${alert.rule_kind === 'late_data' ? 'late record(s)' : 'connection(s)'}, ${alert.bytes} bytes, ${iso(alert.first_seen_at)}..${iso(alert.last_seen_at)}` +
          (alert.observed_by.length > 0 ? `, seen by ${alert.observed_by.join(' + ')}` : ''),
      );
    }
  } else if (result.status === 'published') {
    lines.push('  alerts: none');
  }
  for (const [sink, delivery] of Object.entries(result.alertDelivery ?? {})) {
    lines.push(
      `  alert sink ${sink}: delivered ${delivery.delivered.length}, already delivered ${delivery.already_delivered}, pending ${delivery.pending}${delivery.error ? ` (${delivery.error})` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function iso(value: Date): string {
  return value.toISOString().slice(11, 19);
}
