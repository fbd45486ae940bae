import { NSG_PLAIN_TUPLES } from './azure-plain-tuples.ts';
import { hourInWindow, hourParts, utcDate, type SourceDefinition } from './source-definition.ts';

/**
 * Azure NSG flow logs, one block blob per NSG, MAC address and hour:
 * `insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/<nsg>/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<mac>/PT1H.json`
 * (https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview#log-format).
 * The blob of hour h is appended to during h, so the window reads every blob whose hour overlaps it.
 */
export const AZURE_HOUR_BLOB = /\/y=(?<y>\d{4})\/m=(?<m>\d{2})\/d=(?<d>\d{2})\/h=(?<h>\d{2})\/m=00\/macAddress=(?<mac>[0-9A-Fa-f-]+)\/PT1H\.json(?:\.gz)?$/;

export function parseAzureBlobHour(key: string): Date | undefined {
  const groups = AZURE_HOUR_BLOB.exec(key)?.groups;
  return groups ? utcDate(groups.y!, groups.m!, groups.d!, groups.h) : undefined;
}

/** The hour folder of Azure's flow log blobs: `y=YYYY/m=MM/d=DD/h=HH/`. */
export function azureHourFolder(hour: Date): string {
  const { y, m, d, h } = hourParts(hour);
  return `y=${y}/m=${m}/d=${d}/h=${h}/`;
}

export const azureNsgSource: SourceDefinition = {
  sourceType: 'azure_nsg',
  configKey: 'azure_nsg',
  cliName: 'azure-nsg',
  staging: () => 'json-records',
  tuplePath: ['properties', 'flows', '*', 'flows', '*', 'flowTuples'],
  tupleTyper: NSG_PLAIN_TUPLES,
  // Subscriptions, resource groups and NSGs are found by delimiter listings above the hour folders.
  layouts: [
    {
      name: 'nsg',
      steps: [
        { literal: 'resourceId=' },
        { literal: 'SUBSCRIPTIONS' },
        { any: /^[^=]+$/ },
        { literal: 'RESOURCEGROUPS' },
        { any: /^[^=]+$/ },
        { literal: 'PROVIDERS' },
        { literal: 'MICROSOFT.NETWORK' },
        { literal: 'NETWORKSECURITYGROUPS' },
        { any: /^[^=]+$/ },
        { date: azureHourFolder },
      ],
    },
  ],
  inWindow(object, _sourcePrefix, window) {
    const hour = parseAzureBlobHour(object.key);
    return hour !== undefined && hourInWindow(hour, window);
  },
};
