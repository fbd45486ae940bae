/**
 * Writes the bundled sample raw files (data/samples/raw/…) deterministically: AWS VPC Flow Logs
 * and agent segments for 2024-05-01T13 and T14, and Azure NSG and VNet, GCP and OCI flow logs for
 * 2024-05-02T13 (multi-cloud-samples.ts). Run it again after changing it:
 *   node --import tsx data/samples/generate-samples.ts [OUTPUT_FOLDER]
 * (data/samples/ by default; test/samples/generated-samples.test.ts writes elsewhere and compares).
 * data/samples/README.md lists what the demo must find in them.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { agentSegmentKey, type AgentRecord } from '../../schemas/agent-record.ts';
import { writeMultiCloudSamples } from './multi-cloud-samples.ts';

const ROOT = path.resolve(process.argv[2] ?? import.meta.dirname);
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const FLOW_LOG = 'fl-0a1b2c3d4e5f67890';
const HOURS = [Date.UTC(2024, 4, 1, 13), Date.UTC(2024, 4, 1, 14)];
const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

const VM = {
  web1: { id: 'i-0web00000000001', ip: '10.0.1.10', ip6: '2600:1f18:1234:5600::10', eni: 'eni-0web1000000000001' },
  web2: { id: 'i-0web00000000002', ip: '10.0.1.11', eni: 'eni-0web2000000000002' },
  app1: { id: 'i-0app00000000001', ip: '10.0.2.10' },
  app2: { id: 'i-0app00000000002', ip: '10.0.2.11' },
  sql1: { id: 'i-0sql00000000001', ip: '10.0.3.10' },
  batch1: { id: 'i-0batch000000001', ip: '10.0.5.20' },
};
const DATASTORE = '10.0.4.50';
const S3 = '52.216.10.20';
const CLIENTS = ['93.184.216.34', '151.101.1.69', '104.16.132.229'];
const CLIENT6 = '2a00:1450:4001:82b::200e';

// A small deterministic generator, so the files are the same on every run.
let seed = 20240501;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

/** Writes one sample object, gzip-compressed unless the provider writes it plain (Azure's PT1H.json, GCP's sink shards). */
function writeObject(key: string, body: string, { gzip = true }: { gzip?: boolean } = {}): void {
  const file = path.join(ROOT, key);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, gzip ? gzipSync(Buffer.from(body), { level: 9, mtime: 0 } as never) : body);
}

function awsStamp(time: number): string {
  return new Date(time).toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
}

function awsLines(): void {
  for (const hour of HOURS) {
    for (let bucket = 0; bucket < 12; bucket++) {
      const from = hour + bucket * 300_000;
      const to = from + 300_000;
      const s = Math.floor(from / 1000) + between(0, 20);
      const e = s + between(30, 250);
      const lines: string[] = [AWS_HEADER];
      const flow = (eni: string, src: string, dst: string, sport: number, dport: number, proto: number, packets: number, bytes: number, action = 'ACCEPT') =>
        lines.push(`2 ${ACCOUNT} ${eni} ${src} ${dst} ${sport} ${dport} ${proto} ${packets} ${bytes} ${s} ${e} ${action} OK`);
      for (const web of [VM.web1, VM.web2]) {
        for (const client of CLIENTS) {
          const packets = between(10, 200);
          flow(web.eni, client, web.ip, between(32768, 60999), 443, 6, packets, packets * between(400, 1400));
        }
        flow(web.eni, web.ip, web === VM.web1 ? VM.app1.ip : VM.app2.ip, between(32768, 60999), 8080, 6, 40, 24_000);
      }
      flow(VM.web1.eni, CLIENT6, VM.web1.ip6, between(32768, 60999), 443, 6, 25, 30_000);
      flow(VM.web1.eni, VM.web1.ip, S3, between(32768, 60999), 443, 6, 120, 150_000);
      const isFirstHour = hour === HOURS[0];
      if (isFirstHour && bucket === 3) {
        flow(VM.web1.eni, '185.220.101.45', VM.web1.ip, 51234, 22, 6, 12, 2_400);
        flow(VM.web2.eni, '185.220.101.45', VM.web2.ip, 51240, 3389, 6, 2, 120, 'REJECT');
      }
      if (!isFirstHour && bucket === 6) flow(VM.web2.eni, '45.95.147.10', VM.web2.ip, 40022, 22, 6, 8, 1_600);
      if (isFirstHour && bucket === 7) lines.push(`2 ${ACCOUNT} ${VM.web2.eni} - - - - - - - ${s} ${e} - NODATA`);
      if (isFirstHour && bucket === 9) lines.push(`2 ${ACCOUNT} ${VM.web1.eni} - - - - - - - ${s} ${e} - SKIPDATA`);
      const key = `raw/aws_vpc/AWSLogs/${ACCOUNT}/vpcflowlogs/${REGION}/2024/05/01/${ACCOUNT}_vpcflowlogs_${REGION}_${FLOW_LOG}_${awsStamp(to)}_${(bucket + 1).toString(16).padStart(8, '0')}.log.gz`;
      writeObject(key, `${lines.join('\n')}\n`);
    }
  }
}

function agentRecords(): void {
  const sequences = new Map<string, number>();
  for (const hour of HOURS) {
    const isFirstHour = hour === HOURS[0];
    for (let segment = 0; segment < 6; segment++) {
      const segmentRecords = new Map<string, AgentRecord[]>();
      for (let minute = segment * 10; minute < segment * 10 + 10; minute++) {
        const intervalStart = hour + minute * 60_000;
        const window = (): [number, number] => {
          const first = intervalStart + between(0, 20_000);
          return [first, first + between(1_000, 39_000)];
        };
        const record = (vm: { id: string }, src: string, dst: string, sport: number, dport: number, direction: AgentRecord['direction'], packets: number, bytes: number, [first, last] = window()) => {
          const list = segmentRecords.get(vm.id) ?? [];
          list.push({
            v: 1, vm_id: vm.id, interface_id: 'eth0',
            interval_start_at: new Date(intervalStart).toISOString(), interval_s: 60,
            start_at: new Date(first).toISOString(), end_at: new Date(last).toISOString(),
            src_ip: src, dst_ip: dst, src_port: sport, dst_port: dport, protocol: 6, direction, packets, bytes,
            tcp_flags: 0x1b,
          });
          segmentRecords.set(vm.id, list);
        };
        // Both ends' agents see the same packets: the destination's a few milliseconds later.
        const bothEnds = (from: { id: string; ip: string }, to: { id: string; ip: string }, sport: number, dport: number, packets: number, bytes: number) => {
          const [first, last] = window();
          record(from, from.ip, to.ip, sport, dport, 'egress', packets, bytes, [first, last]);
          record(to, from.ip, to.ip, sport, dport, 'ingress', packets, bytes, [first + 2, last + 2]);
        };
        bothEnds(VM.app1, VM.sql1, between(49152, 65535), 1433, 30, 9_000);
        record(VM.app1, VM.app1.ip, DATASTORE, between(49152, 65535), 6379, 'egress', 12, 1_800);
        record(VM.app1, VM.web1.ip, VM.app1.ip, between(32768, 60999), 8080, 'ingress', 40, 24_000);
        record(VM.app2, VM.web2.ip, VM.app2.ip, between(32768, 60999), 8080, 'ingress', 40, 24_000);
        if (isFirstHour && minute >= 20 && minute < 25) {
          bothEnds(VM.app2, VM.sql1, between(49152, 65535), 1433, 6, 900);
        }
        if (isFirstHour && minute >= 30 && minute < 33) record(VM.batch1, VM.batch1.ip, DATASTORE, between(49152, 65535), 6379, 'egress', 4, 480);
        if (isFirstHour && minute === 40) record(VM.app1, VM.app1.ip, '172.20.9.9', 50500, 443, 'egress', 10, 4_200);
      }
      // A segment closes a few seconds after its last interval, so the last one of an hour lands in the next hour's folder.
      const closedAt = new Date(hour + (segment + 1) * 600_000 + 5_000);
      for (const [vmId, records] of segmentRecords) {
        const sequence = (sequences.get(vmId) ?? 0) + 1;
        sequences.set(vmId, sequence);
        writeObject(agentSegmentKey(vmId, sequence, closedAt), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      }
    }
  }
}

rmSync(path.join(ROOT, 'raw'), { recursive: true, force: true });
awsLines();
agentRecords();
writeMultiCloudSamples(writeObject);
