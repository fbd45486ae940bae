import { NSG_PLAIN_TUPLES } from './azure-plain-tuples.ts';
import { hourInWindow, utcDate, type SourceDefinition } from './source-definition.ts';

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

export const azureNsgSource: SourceDefinition = {
  sourceType: 'azure_nsg',
  configKey: 'azure_nsg',
  cliName: 'azure-nsg',
  staging: () => 'json-records',
  tuplePath: ['properties', 'flows', '*', 'flows', '*', 'flowTuples'],
  tupleTyper: NSG_PLAIN_TUPLES,
  // Subscriptions, resource groups and NSGs sit above the date folders; the key says the hour.
  listPrefixes: (sourcePrefix) => [sourcePrefix],
  inWindow(object, _sourcePrefix, window) {
    const hour = parseAzureBlobHour(object.key);
    return hour !== undefined && hourInWindow(hour, window);
  },
};
