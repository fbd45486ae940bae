import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { SourceType } from './source-definition.ts';

const SNIFF_BYTES = 64 * 1024;

/**
 * Tells a raw file's source from its first 64 KiB (decompressed), for `netflow inspect --source auto`.
 * Returns every source whose signature matches: the answer is trustworthy only when exactly one does.
 */
export async function detectSources(file: string): Promise<SourceType[]> {
  const head = await readHead(file);
  if (head.length === 0) return [];
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return ['aws_vpc'];
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  const found: SourceType[] = [];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    if (/"flowLogVersion"|"FlowLogFlowEvent"/.test(text)) found.push('azure_vnet');
    if (/"NetworkSecurityGroupFlowEvent"/.test(text) || (/"records"/.test(text) && /"flowTuples"/.test(text) && /"Version"/.test(text))) found.push('azure_nsg');
    if (/"jsonPayload"/.test(text) && /vpc_flows|"connection"/.test(text)) found.push('gcp_vpc');
    if (/com\.oraclecloud\.vcn\.flowlogs/.test(text)) found.push('oci_vcn');
    if (/"interval_start_at"/.test(text) && /"vm_id"/.test(text)) found.push('agent');
    return found;
  }
  const firstLine = trimmed.split('\n', 1)[0]!.replace(/\r$/, '');
  // An S3 text object's header line, or a record of the default format (version first).
  if (/^(version|account-id|interface-id|srcaddr|dstaddr|start|end|action|log-status|vpc-id|subnet-id|instance-id|region|az-id|flow-direction|type|pkt-[a-z-]+|ecs-[a-z-]+|[a-z]+-[a-z-]+)( [a-z][a-z0-9-]*)+$/.test(firstLine)) found.push('aws_vpc');
  else if (/^([2-9]|10) \S+ \S+ \S+ \S+/.test(firstLine)) found.push('aws_vpc');
  return found;
}

async function readHead(file: string): Promise<Buffer> {
  const raw = await readBytes(createReadStream(file, { start: 0, end: SNIFF_BYTES - 1 }), SNIFF_BYTES);
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  const gunzip = createGunzip();
  const input = createReadStream(file);
  input.pipe(gunzip);
  try {
    return await readBytes(gunzip, SNIFF_BYTES);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

function readBytes(stream: NodeJS.ReadableStream & { destroy(): void }, limit: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, limit));
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) {
        stream.removeAllListeners('data');
        stream.destroy();
        done();
      }
    });
    stream.on('end', done);
    // A truncated gzip still yields what decompressed before the damage.
    stream.on('error', done);
    stream.on('close', done);
  });
}
