import { gzipSync } from 'node:zlib';
import { agentSegmentKey, type AgentRecord } from '../../schemas/agent-record.ts';
import type { ObjectStore } from '../../lib/storage/object-store.ts';

/**
 * A small production-like network for the conformance scenarios (2024-06-03, hours 10 and 11):
 * web-1 behind AWS VPC Flow Logs, app-1, app-2, sql-1 and batch-1 running the agent, a datastore
 * subnet, DNS, public clients, and the incidents the scenarios look for, at known minutes.
 */
export const ACCOUNT = '123456789012';
export const VM = {
  web1: { id: 'i-0web1', ip: '10.0.1.10', eni: 'eni-0web1' },
  app1: { id: 'i-0app1', ip: '10.0.2.10' },
  app2: { id: 'i-0app2', ip: '10.0.2.11' },
  sql1: { id: 'i-0sql1', ip: '10.0.3.10' },
  batch1: { id: 'i-0batch1', ip: '10.0.5.20' },
};
export const REUSED_IP = '10.0.3.20';
export const DATASTORE = '10.0.4.50';
export const SCANNER = '45.95.147.10';
export const TOR_EXIT = '185.220.101.45';
export const C2 = '91.240.118.66';
export const BACKUP_TARGET = '104.16.132.229';
const CLIENTS = ['93.184.216.34', '151.101.1.69', '2.16.0.10'];
export const HOURS = ['2024-06-03T10', '2024-06-03T11'];

let seed = 603;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

export const INVENTORY_YAML = `
snapshots:
  - snapshot_at: "2024-06-01T00:00:00Z"
    vms:
      - { vm_id: i-0web1, vm_name: web-1, account_id: "${ACCOUNT}", segment: web, tags: [vm, web], interfaces: [{ interface_id: eni-0web1, private_ips: [10.0.1.10] }] }
      - { vm_id: i-0app1, vm_name: app-1, account_id: "${ACCOUNT}", segment: app, tags: [vm, app], interfaces: [{ interface_id: eth0-app1, private_ips: [10.0.2.10] }] }
      - { vm_id: i-0app2, vm_name: app-2, account_id: "${ACCOUNT}", segment: app, tags: [vm, app], interfaces: [{ interface_id: eth0-app2, private_ips: [10.0.2.11] }] }
      - { vm_id: i-0sql1, vm_name: sql-1, account_id: "${ACCOUNT}", segment: data, tags: [sqlserver], interfaces: [{ interface_id: eth0-sql1, private_ips: [10.0.3.10] }] }
      - { vm_id: i-0batch1, vm_name: batch-1, account_id: "${ACCOUNT}", segment: batch, tags: [batch], interfaces: [{ interface_id: eth0-batch1, private_ips: [10.0.5.20] }] }
      - { vm_id: i-0legacy, vm_name: legacy-db, account_id: "${ACCOUNT}", segment: data, tags: [legacy], interfaces: [{ interface_id: eth0-legacy, private_ips: [${REUSED_IP}] }] }
  - snapshot_at: "2024-06-03T11:15:00Z"
    vms:
      - { vm_id: i-0web1, vm_name: web-1, account_id: "${ACCOUNT}", segment: web, tags: [vm, web], interfaces: [{ interface_id: eni-0web1, private_ips: [10.0.1.10] }] }
      - { vm_id: i-0app1, vm_name: app-1, account_id: "${ACCOUNT}", segment: app, tags: [vm, app], interfaces: [{ interface_id: eth0-app1, private_ips: [10.0.2.10] }] }
      - { vm_id: i-0app2, vm_name: app-2, account_id: "${ACCOUNT}", segment: app, tags: [vm, app], interfaces: [{ interface_id: eth0-app2, private_ips: [10.0.2.11] }] }
      - { vm_id: i-0sql1, vm_name: sql-1, account_id: "${ACCOUNT}", segment: data, tags: [sqlserver], interfaces: [{ interface_id: eth0-sql1, private_ips: [10.0.3.10] }] }
      - { vm_id: i-0batch1, vm_name: batch-1, account_id: "${ACCOUNT}", segment: batch, tags: [batch], interfaces: [{ interface_id: eth0-batch1, private_ips: [10.0.5.20] }] }
      - { vm_id: i-0cache1, vm_name: cache-1, account_id: "${ACCOUNT}", segment: cache, tags: [vm, cache], interfaces: [{ interface_id: eth0-cache1, private_ips: [${REUSED_IP}] }] }
`;

export const RANGES_CSV = `cidr,name,tags,segment
10.0.0.0/16,vpc-main,internal,
10.0.1.0/24,subnet-web,internal,web
10.0.2.0/24,subnet-app,internal,app
10.0.3.0/24,subnet-data,internal,data
10.0.4.0/24,subnet-datastore,datastore,data
10.0.5.0/24,subnet-batch,internal,batch
`;

export const RULES_YAML = `
version: "2024-06-03.1"
rules:
  - id: no-admin-ports-from-internet
    kind: deny
    severity: high
    owner: security
    description: SSH and RDP must never be reachable from the internet.
    from: { internet: true }
    to: { any: true }
    ports: [22, 3389]
    protocol: tcp
    action: accept
  - id: sql-only-from-app-1
    kind: allow_only
    severity: high
    owner: data
    description: The SQL server accepts connections from app-1 only.
    to: { vm: i-0sql1 }
    ports: [1433]
    from: [{ vm: i-0app1 }]
  - id: datastore-only-from-vms
    kind: allow_only
    severity: medium
    owner: data
    description: The datastore subnet is reached only from VMs tagged vm.
    to: { tag: datastore }
    from: [{ tag: vm }]
  - id: known-endpoints-only
    kind: require_known
    severity: medium
    owner: network
    description: Every private endpoint must fall in a known range.
  - id: no-threat-endpoints
    kind: threat
    severity: critical
    owner: security
    description: No traffic to or from addresses on a threat list.
  - id: no-batch-to-internet
    kind: deny
    severity: medium
    owner: analytics
    description: Batch hosts do not talk to the internet.
    from: { tag: batch }
    to: { internet: true }
    exceptions:
      - reason: "CHG-2291: backup migration to the CDN bucket, until 11:30 UTC"
        expires: "2024-06-03T11:30:00Z"
        to: { ip: ${BACKUP_TARGET} }
        ports: [443]
`;

export const THREAT_FILES = {
  'tor-exits.txt': `# tor exits\n${TOR_EXIT}\n`,
  'firehol_level1.netset': '#\n# firehol_level1 (sample)\n#\n185.220.100.0/22\n5.188.10.0/23\n',
  'c2-feed.csv': `indicator,kind\n${C2},c2\n`,
};

function gz(text: string): Buffer {
  return gzipSync(Buffer.from(text), { mtime: 0 } as never);
}

/** Writes both hours' raw objects (AWS flow logs for web-1, agent segments for the rest) into the store. */
export async function deliverScenarioTraffic(store: ObjectStore): Promise<void> {
  const sequences = new Map<string, number>();
  for (const [hourIndex, hourText] of HOURS.entries()) {
    const hour = Date.parse(`${hourText}:00:00Z`);
    // AWS VPC Flow Logs (version 2) on web-1's ENI, one file per 5 minutes.
    for (let bucket = 0; bucket < 12; bucket++) {
      const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
      for (let minute = bucket * 5; minute < bucket * 5 + 5; minute++) {
        const start = Math.floor((hour + minute * 60_000) / 1000) + between(0, 20);
        const aws = (src: string, dst: string, sport: number, dport: number, packets: number, bytes: number, action = 'ACCEPT') =>
          lines.push(`2 ${ACCOUNT} ${VM.web1.eni} ${src} ${dst} ${sport} ${dport} 6 ${packets} ${bytes} ${start} ${start + between(5, 50)} ${action} OK`);
        for (const client of CLIENTS) aws(client, VM.web1.ip, between(32768, 60999), 443, between(10, 90), between(4_000, 90_000));
        aws(VM.web1.ip, VM.app1.ip, between(32768, 60999), 8080, 40, 24_000);
        if (hourIndex === 0 && minute === 15) aws(SCANNER, VM.web1.ip, 40022, 22, 9, 1_800);
        if (hourIndex === 0 && minute === 16) aws(SCANNER, VM.web1.ip, 40023, 3389, 2, 120, 'REJECT');
        if (hourIndex === 0 && minute === 50) aws(TOR_EXIT, VM.web1.ip, 51000, 443, 30, 21_000);
      }
      const end = new Date(hour + (bucket + 1) * 300_000).toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
      const key = `raw/aws_vpc/AWSLogs/${ACCOUNT}/vpcflowlogs/us-east-1/${hourText.slice(0, 4)}/${hourText.slice(5, 7)}/${hourText.slice(8, 10)}/${ACCOUNT}_vpcflowlogs_us-east-1_fl-0scenario_${end}_${bucket.toString(16).padStart(8, '0')}.log.gz`;
      await store.putBytes(key, gz(`${lines.join('\n')}\n`));
    }
    // Agent segments, one per VM per 10 minutes, closed 5 s after their last interval.
    for (let segment = 0; segment < 6; segment++) {
      const byVm = new Map<string, AgentRecord[]>();
      for (let minute = segment * 10; minute < segment * 10 + 10; minute++) {
        const intervalStart = hour + minute * 60_000;
        const record = (vm: { id: string }, src: string, dst: string, dport: number, direction: AgentRecord['direction'], protocol = 6) => {
          const first = intervalStart + between(0, 20_000);
          const list = byVm.get(vm.id) ?? [];
          list.push({
            v: 1,
            vm_id: vm.id,
            interface_id: 'eth0',
            interval_start_at: new Date(intervalStart).toISOString(),
            interval_s: 60,
            start_at: new Date(first).toISOString(),
            end_at: new Date(first + between(1_000, 39_000)).toISOString(),
            src_ip: src,
            dst_ip: dst,
            src_port: between(49152, 65535),
            dst_port: dport,
            protocol,
            direction,
            packets: between(4, 60),
            bytes: between(400, 30_000),
            tcp_flags: protocol === 6 ? 0x1b : 0,
          });
          byVm.set(vm.id, list);
        };
        record(VM.app1, VM.app1.ip, VM.sql1.ip, 1433, 'egress');
        record(VM.app1, VM.app1.ip, DATASTORE, 6379, 'egress');
        record(VM.app2, VM.app2.ip, '10.0.0.2', 53, 'egress', 17);
        if (minute % 5 === 0) record(VM.app1, VM.app1.ip, REUSED_IP, 5432, 'egress');
        if (minute % 10 === 0) record(VM.batch1, VM.batch1.ip, BACKUP_TARGET, 443, 'egress');
        if (hourIndex === 0 && minute >= 12 && minute < 15) record(VM.app2, VM.app2.ip, VM.sql1.ip, 1433, 'egress');
        if (hourIndex === 0 && minute >= 30 && minute < 32) record(VM.batch1, VM.batch1.ip, DATASTORE, 6379, 'egress');
        if (hourIndex === 1 && minute === 5) record(VM.app2, VM.app2.ip, C2, 443, 'egress');
        if (hourIndex === 1 && minute === 40) record(VM.app1, VM.app1.ip, '172.20.9.9', 443, 'egress');
      }
      const closedAt = new Date(hour + (segment + 1) * 600_000 + 5_000);
      for (const [vmId, records] of byVm) {
        const sequence = (sequences.get(vmId) ?? 0) + 1;
        sequences.set(vmId, sequence);
        await store.putBytes(agentSegmentKey(vmId, sequence, closedAt), gz(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
      }
    }
  }
}
