import { VNET_PLAIN_TUPLES } from './azure-plain-tuples.ts';
import { azureHourFolder, parseAzureBlobHour } from './azure-nsg-source.ts';
import { hourInWindow, type SourceDefinition } from './source-definition.ts';

/**
 * Azure virtual network flow logs (flowLogVersion 4), one block blob per flow log, MAC address and hour:
 * `insights-logs-flowlogflowevent/flowLogResourceID=/<SUB>/<RG>/<NETWORKWATCHER>_<REGION>_<FLOWLOG>/y=YYYY/m=MM/d=DD/h=HH/m=00/macAddress=<mac>/PT1H.json`
 * (https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview#log-format).
 */
export const azureVnetSource: SourceDefinition = {
  sourceType: 'azure_vnet',
  configKey: 'azure_vnet',
  cliName: 'azure-vnet',
  staging: () => 'json-records',
  tuplePath: ['flowRecords', 'flows', '*', 'flowGroups', '*', 'flowTuples'],
  tupleTyper: VNET_PLAIN_TUPLES,
  layouts: [{ name: 'vnet', steps: [{ literal: 'flowLogResourceID=' }, { any: /^[^=]+$/ }, { any: /^[^=]+$/ }, { any: /^[^=]+$/ }, { date: azureHourFolder }] }],
  inWindow(object, _sourcePrefix, window) {
    const hour = parseAzureBlobHour(object.key);
    return hour !== undefined && hourInWindow(hour, window);
  },
};
