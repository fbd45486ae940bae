import { hourInWindow, hourParts, utcDate, type SourceDefinition } from './source-definition.ts';

/**
 * GCP VPC Flow Logs routed by a Cloud Logging sink to Cloud Storage, in hourly batches:
 * `<bucket>/compute.googleapis.com/vpc_flows/YYYY/MM/DD/HH:00:00_HH:59:59_S<shard>.json`, one
 * LogEntry per line (https://cloud.google.com/logging/docs/export/storage#gcs-organization).
 * The hour in the name is the hour of the entries' `timestamp`, so the window lists the day
 * prefixes it overlaps and keeps the files whose hour overlaps it. Shards are named `S<n>`, or
 * `A<n>` (with the Unix time it was written, `A0:1714579200`) for entries Logging received after
 * their hour had been written: both hold the hour's entries, and a complete hour is all of them.
 */
const KEY_PATTERN = /(?:^|\/)(?<y>\d{4})\/(?<m>\d{2})\/(?<d>\d{2})\/(?<h>\d{2}):00:00_\k<h>:59:59_(?:S\d+|A\d+(?::\d+)?)\.json(?:\.gz)?$/;

export function parseGcpVpcKey(key: string): Date | undefined {
  const groups = KEY_PATTERN.exec(key)?.groups;
  return groups ? utcDate(groups.y!, groups.m!, groups.d!, groups.h) : undefined;
}

export const gcpVpcSource: SourceDefinition = {
  sourceType: 'gcp_vpc',
  configKey: 'gcp_vpc',
  cliName: 'gcp-vpc',
  staging: () => 'lines',
  // The batch's hour starts its name: `YYYY/MM/DD/HH:` is the prefix of an hour's shards.
  layouts: [
    {
      name: 'logging-sink',
      steps: [
        {
          date: (hour) => {
            const { y, m, d, h } = hourParts(hour);
            return `${y}/${m}/${d}/${h}:`;
          },
        },
      ],
    },
  ],
  inWindow(object, _sourcePrefix, window) {
    const hour = parseGcpVpcKey(object.key);
    return hour !== undefined && hourInWindow(hour, window);
  },
};
