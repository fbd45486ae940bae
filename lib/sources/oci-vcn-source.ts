import { HOUR_MS, hourParts, utcDate, type SourceDefinition } from './source-definition.ts';

/**
 * OCI VCN flow logs moved by a Connector Hub (Logging source, Object Storage target): gzip
 * batches of log entries, one JSON entry per line, named after the connector and the batch's
 * time range: `[<object name prefix>/]<connector OCID>/<YYYYMMDDTHHMMSSZ>_<YYYYMMDDTHHMMSSZ>.<n>.log.gz`
 * (https://docs.oracle.com/iaas/Content/connector-hub/overview.htm). The batch's end time is
 * its delivery time, which the window filters on.
 */
const KEY_PATTERN = /(?:^|\/)ocid1\.serviceconnector\.[^/]+\/(?:.*\/)?\d{8}T\d{6}Z_(?<y>\d{4})(?<m>\d{2})(?<d>\d{2})T(?<h>\d{2})(?<min>\d{2})(?<s>\d{2})Z(?:\.\d+)?\.(?:log|json)(?:\.gz)?$/;

export function parseOciVcnKey(key: string): Date | undefined {
  const g = KEY_PATTERN.exec(key)?.groups;
  return g ? utcDate(g.y!, g.m!, g.d!, g.h, g.min, g.s) : undefined;
}

export const ociVcnSource: SourceDefinition = {
  sourceType: 'oci_vcn',
  configKey: 'oci_vcn',
  cliName: 'oci-vcn',
  staging: () => 'lines',
  // Connectors are found by a delimiter listing; a batch's name starts with its start time, up to
  // an hour before the end time the window filters on.
  layouts: [
    {
      name: 'connector-hub',
      steps: [
        { any: /^ocid1\.serviceconnector\./ },
        {
          date: (hour) => {
            const { y, m, d, h } = hourParts(hour);
            return `${y}${m}${d}T${h}`;
          },
          earlierMs: HOUR_MS,
        },
      ],
    },
  ],
  inWindow(object, _sourcePrefix, window) {
    const deliveredAt = parseOciVcnKey(object.key);
    return deliveredAt !== undefined && deliveredAt >= window.from && deliveredAt < window.to;
  },
};
