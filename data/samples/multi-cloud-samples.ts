/**
 * The Azure, GCP and OCI sample objects of one event hour (multi-cloud-estate.ts), in each
 * provider's documented format and object layout (docs/sources.md; /lib/sources/*):
 * - Azure NSG flow logs version 2 of az-sql-1's NSG and NIC, and Azure VNet flow logs
 *   (flowLogVersion 4) of az-web-1's NIC: one PT1H.json block blob per hour, a record per minute;
 * - GCP VPC Flow Logs exported by a Cloud Logging sink to Cloud Storage: hourly shards of
 *   LogEntries, one per line, both ends of a VM-to-VM flow reporting it (SRC and DEST);
 * - OCI VCN flow logs moved by a Connector Hub to Object Storage: gzip batches of log entries.
 * Deterministic: its own seeded generator, independent of the AWS and agent samples'.
 */
import { AZURE, GCP, MULTI_CLOUD_HOUR, OCI } from './multi-cloud-estate.ts';

export type WriteObject = (key: string, body: string, options?: { gzip?: boolean }) => void;

const MINUTE = 60_000;

function seededRandom(initial: number): { between: (low: number, high: number) => number; hex: (length: number) => string } {
  let seed = initial;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const between = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  return { between, hex: (length) => Array.from({ length }, () => between(0, 15).toString(16)).join('') };
}

const { between, hex } = seededRandom(20240502);
const guid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
/** Azure's record times: seven decimals. */
const azureTime = (time: number) => new Date(time).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${hex(4).replace(/\D/g, '0')}Z`);
const hourFolder = (time: number) => {
  const iso = new Date(time).toISOString();
  return `y=${iso.slice(0, 4)}/m=${iso.slice(5, 7)}/d=${iso.slice(8, 10)}/h=${iso.slice(11, 13)}/m=00`;
};

const INTERNET_CLIENTS = ['93.184.216.34', '151.101.1.69', '104.16.132.229', '2.16.103.7'];

/** NSG flow log version 2 of az-sql-1's NIC: app-1's SQL sessions (allowed), app-2's (allowed by the NSG, not by the rule), the internet's denied probes. */
function azureNsg(write: WriteObject): void {
  const { vms } = AZURE;
  const resourceId = `/SUBSCRIPTIONS/${AZURE.subscription.toUpperCase()}/RESOURCEGROUPS/${AZURE.resourceGroup}/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/${AZURE.sqlNsg}`;
  const systemId = guid();
  const records: unknown[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const at = MULTI_CLOUD_HOUR + minute * MINUTE;
    const allowed: string[] = [];
    const denied: string[] = [];
    // A short session: its begin (B, no counters) and end (E, the counters of both directions) in the same minute.
    const session = (from: { ip: string }, packets: number, bytes: number) => {
      const start = Math.floor(at / 1000) + between(0, 30);
      const sport = between(49152, 65535);
      allowed.push(`${start},${from.ip},${vms.sql1.ip},${sport},1433,T,I,A,B,,,,`);
      allowed.push(`${start + between(2, 25)},${from.ip},${vms.sql1.ip},${sport},1433,T,I,A,E,${packets},${bytes},${packets - 2},${bytes * 3}`);
    };
    if (minute % 2 === 0) session(vms.app1, 24, 6_400);
    if (minute >= 20 && minute < 25) session(vms.app2, 8, 1_200);
    if (minute === 10) denied.push(`${Math.floor(at / 1000) + 7},89.248.165.52,${vms.sql1.ip},41766,1433,T,I,D,B,,,,`);
    if (minute === 35) denied.push(`${Math.floor(at / 1000) + 12},89.248.165.52,${vms.sql1.ip},41802,3389,T,I,D,B,,,,`);
    const flows = [
      ...(allowed.length > 0 ? [{ rule: 'UserRule_AllowSqlFromAppSubnet', flows: [{ mac: vms.sql1.mac, flowTuples: allowed }] }] : []),
      ...(denied.length > 0 ? [{ rule: 'DefaultRule_DenyAllInBound', flows: [{ mac: vms.sql1.mac, flowTuples: denied }] }] : []),
    ];
    if (flows.length === 0) continue;
    records.push({
      time: azureTime(at + 59_000 + between(0, 900)),
      systemId,
      macAddress: vms.sql1.mac,
      category: 'NetworkSecurityGroupFlowEvent',
      resourceId,
      operationName: 'NetworkSecurityGroupFlowEvents',
      properties: { Version: 2, flows },
    });
  }
  write(`raw/azure_nsg/insights-logs-networksecuritygroupflowevent/resourceId=${resourceId}/${hourFolder(MULTI_CLOUD_HOUR)}/macAddress=${vms.sql1.mac}/PT1H.json`, JSON.stringify({ records }));
}

/** VNet flow log of az-web-1's NIC: HTTPS from the internet, web → app, a denied RDP probe. */
function azureVnet(write: WriteObject): void {
  const { vms } = AZURE;
  const watcher = `NETWORKWATCHER_${AZURE.region.toUpperCase()}`;
  const flowLogResourceID = `/SUBSCRIPTIONS/${AZURE.subscription.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/${watcher}/FLOWLOGS/${AZURE.vnetFlowLog}`;
  const targetResourceID = `/subscriptions/${AZURE.subscription}/resourceGroups/${AZURE.resourceGroup}/providers/Microsoft.Network/virtualNetworks/vnet-shop/subnets/snet-web`;
  const flowLogGUID = guid();
  const aclID = guid();
  const records: unknown[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const at = MULTI_CLOUD_HOUR + minute * MINUTE;
    const tuples = (src: string, dst: string, dport: number, direction: 'I' | 'O', packets: number, bytes: number) => {
      const start = at + between(0, 30_000);
      const sport = between(32768, 60999);
      return [
        `${start},${src},${dst},${sport},${dport},6,${direction},B,NX,0,0,0,0`,
        `${start + between(500, 20_000)},${src},${dst},${sport},${dport},6,${direction},E,NX,${packets},${bytes},${packets + 4},${bytes * 6}`,
      ];
    };
    const groups = [
      { rule: 'UserRule_AllowHttpsInbound', flowTuples: tuples(INTERNET_CLIENTS[minute % INTERNET_CLIENTS.length]!, vms.web1.ip, 443, 'I', between(10, 80), between(4_000, 40_000)) },
      { rule: 'DefaultRule_AllowVnetOutBound', flowTuples: tuples(vms.web1.ip, vms.app1.ip, 8080, 'O', 30, 18_000) },
    ];
    if (minute === 15) groups.push({ rule: 'DefaultRule_DenyAllInBound', flowTuples: [`${at + 4_211},45.146.164.110,${vms.web1.ip},52114,3389,6,I,D,NX,0,0,0,0`] });
    records.push({
      time: azureTime(at + 59_000 + between(0, 900)),
      flowLogVersion: 4,
      flowLogGUID,
      macAddress: vms.web1.mac,
      category: 'FlowLogFlowEvent',
      flowLogResourceID,
      targetResourceID,
      operationName: 'FlowLogFlowEvent',
      flowRecords: { flows: [{ aclID, flowGroups: groups }] },
    });
  }
  write(
    `raw/azure_vnet/insights-logs-flowlogflowevent/flowLogResourceID=/${AZURE.subscription.toUpperCase()}/NETWORKWATCHERRG/${watcher}_${AZURE.vnetFlowLog}/${hourFolder(MULTI_CLOUD_HOUR)}/macAddress=${vms.web1.mac}/PT1H.json`,
    JSON.stringify({ records }),
  );
}

type GcpVm = (typeof GCP.vms)[keyof typeof GCP.vms];

/** VPC Flow Logs of the data project: api-1 and etl-1 reaching redis-1 (both ends report), HTTPS from the internet to api-1 (its end reports). */
function gcpVpc(write: WriteObject): void {
  const shards: string[][] = [[], []];
  const instance = (vm: GcpVm) => ({ project_id: GCP.project, region: GCP.region, vm_name: vm.name, zone: GCP.zone });
  const vpc = (vm: GcpVm) => ({ project_id: GCP.project, subnetwork_name: vm.subnet, vpc_name: GCP.vpc });
  const entry = (reporter: 'SRC' | 'DEST', at: number, src: GcpVm | string, dst: GcpVm, sport: number, dport: number, packets: number, bytes: number) => {
    const start = at + between(0, 200);
    const end = start + between(2_000, 5_000);
    const reporting = reporter === 'SRC' ? (src as GcpVm) : dst;
    const remote = typeof src === 'string' ? { src_location: { asn: 15169, continent: 'Europe', country: 'nld' } } : { src_instance: instance(src), src_vpc: vpc(src) };
    const written = end + between(5_000, 9_000);
    const line = JSON.stringify({
      insertId: hex(14),
      jsonPayload: {
        bytes_sent: String(bytes),
        connection: { dest_ip: dst.ip, dest_port: dport, protocol: 6, src_ip: typeof src === 'string' ? src : src.ip, src_port: sport },
        dest_instance: instance(dst),
        dest_vpc: vpc(dst),
        end_time: new Date(end).toISOString().replace('Z', '123Z'),
        packets_sent: String(packets),
        reporter,
        ...(reporter === 'SRC' ? { rtt_msec: String(between(1, 4)) } : {}),
        ...remote,
        start_time: new Date(start).toISOString().replace('Z', '456Z'),
      },
      logName: `projects/${GCP.project}/logs/compute.googleapis.com%2Fvpc_flows`,
      receiveTimestamp: new Date(written + 1_300).toISOString().replace('Z', '789Z'),
      resource: { labels: { location: GCP.zone, project_id: GCP.project, subnetwork_id: reporting.subnetId, subnetwork_name: reporting.subnet }, type: 'gce_subnetwork' },
      timestamp: new Date(written).toISOString().replace('Z', '012Z'),
    });
    shards[line.length % 2]!.push(line);
  };
  const { api1, etl1, redis1 } = GCP.vms;
  for (let minute = 0; minute < 60; minute++) {
    const at = MULTI_CLOUD_HOUR + minute * MINUTE + between(0, 40_000);
    // Both ends of a VM-to-VM flow report it; their sampled counters differ a little.
    const bothEnds = (src: GcpVm, packets: number, bytes: number) => {
      const sport = between(49152, 65535);
      entry('SRC', at, src, redis1, sport, 6379, packets, bytes);
      entry('DEST', at + 3, src, redis1, sport, 6379, packets - 1, bytes - 60);
    };
    bothEnds(api1, 14, 2_100);
    if (minute >= 40 && minute < 45) bothEnds(etl1, 40, 96_000);
    if (minute % 2 === 1) entry('DEST', at + 500, INTERNET_CLIENTS[minute % INTERNET_CLIENTS.length]!, api1, between(32768, 60999), 443, between(8, 60), between(3_000, 50_000));
  }
  const day = new Date(MULTI_CLOUD_HOUR).toISOString().slice(0, 10).replace(/-/g, '/');
  const hour = new Date(MULTI_CLOUD_HOUR).toISOString().slice(11, 13);
  shards.forEach((lines, index) => write(`raw/gcp_vpc/compute.googleapis.com/vpc_flows/${day}/${hour}:00:00_${hour}:59:59_S${index}.json`, `${lines.join('\n')}\n`));
}

type OciVm = (typeof OCI.vms)[keyof typeof OCI.vms];

/** VCN flow logs of both VNICs, batched every 10 minutes by a Connector Hub: admin SSH from the bastion, the internet's probes on the bastion, app-1's HTTPS out. */
function ociVcn(write: WriteObject): void {
  const { bastion1, app1 } = OCI.vms;
  const stamp = (time: number) => new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  for (let batch = 0; batch < 6; batch++) {
    const from = MULTI_CLOUD_HOUR + batch * 10 * MINUTE;
    const to = from + 10 * MINUTE;
    const lines: string[] = [];
    const entry = (vnic: OciVm, at: number, data: Record<string, unknown>, type = 'com.oraclecloud.vcn.flowlogs.DataEvent') =>
      lines.push(
        JSON.stringify({
          data: { ...data, version: '2' },
          id: guid(),
          oracle: {
            compartmentid: OCI.compartment,
            ingestedtime: new Date(at + between(20_000, 50_000)).toISOString(),
            loggroupid: OCI.logGroup,
            logid: vnic.log,
            tenantid: OCI.tenancy,
            vniccompartmentocid: OCI.compartment,
            vnicocid: vnic.vnic,
            vnicsubnetocid: vnic.subnet,
          },
          source: '-',
          specversion: '1.0',
          time: new Date(Math.floor(at / 1000) * 1000).toISOString(),
          type,
        }),
      );
    const flow = (vnic: OciVm, at: number, src: string, dst: string, sport: number, dport: number, action: 'ACCEPT' | 'REJECT', packets: number, bytes: number) => {
      const startTime = Math.floor(at / 1000);
      entry(vnic, at, {
        action,
        bytesOut: bytes,
        destinationAddress: dst,
        destinationPort: dport,
        endTime: startTime + between(1, 50),
        flowid: hex(8),
        packets,
        protocol: 6,
        protocolName: 'TCP',
        sourceAddress: src,
        sourcePort: sport,
        startTime,
        status: 'OK',
      });
    };
    for (let minute = 0; minute < 10; minute++) {
      const at = from + minute * MINUTE + between(0, 20_000);
      if (minute % 5 === 0) {
        // An admin session from the bastion: logged by both VNICs.
        const sport = between(49152, 65535);
        flow(bastion1, at, bastion1.ip, app1.ip, sport, 22, 'ACCEPT', 60, 9_800);
        flow(app1, at + 4, bastion1.ip, app1.ip, sport, 22, 'ACCEPT', 60, 9_800);
      }
      flow(app1, at + 900, app1.ip, INTERNET_CLIENTS[(batch + minute) % INTERNET_CLIENTS.length]!, between(32768, 60999), 443, 'ACCEPT', between(10, 40), between(2_000, 30_000));
    }
    if (batch === 2) {
      flow(bastion1, from + 5 * MINUTE + 3_000, '194.26.29.113', bastion1.ip, 47210, 22, 'ACCEPT', 9, 1_480);
      flow(bastion1, from + 5 * MINUTE + 9_000, '194.26.29.113', bastion1.ip, 47214, 3389, 'REJECT', 1, 60);
    }
    if (batch === 4) {
      const at = from + 2 * MINUTE;
      entry(bastion1, at, { action: null, bytesOut: null, destinationAddress: null, destinationPort: null, endTime: Math.floor(at / 1000) + 60, flowid: null, packets: null, protocol: null, protocolName: null, sourceAddress: null, sourcePort: null, startTime: Math.floor(at / 1000), status: 'NODATA' }, 'com.oraclecloud.vcn.flowlogs.QualityEvent.NoData');
    }
    write(`raw/oci_vcn/${OCI.connector}/${stamp(from)}_${stamp(to)}.0.log.gz`, `${lines.join('\n')}\n`, { gzip: true });
  }
}

export function writeMultiCloudSamples(write: WriteObject): void {
  azureNsg(write);
  azureVnet(write);
  gcpVpc(write);
  ociVcn(write);
}
