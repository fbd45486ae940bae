import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { AWS_VPC_FIELDS } from '../../schemas/sources/aws-vpc.ts';
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
  if (isAwsVpcHeader(firstLine) || AWS_VPC_RECORD.test(firstLine)) found.push('aws_vpc');
  return found;
}

const AWS_VPC_FIELD_NAMES: ReadonlySet<string> = new Set(AWS_VPC_FIELDS);

/**
 * An S3 text object's header line: field names, in any order (a custom format may start with
 * any field), each a documented one, or hyphenated like them (a field newer than this list, which
 * the model then names in its refusal).
 */
function isAwsVpcHeader(line: string): boolean {
  const names = line.split(' ');
  return names.length >= 2 && names.every((name) => AWS_VPC_FIELD_NAMES.has(name) || /^[a-z]+(-[a-z0-9]+)+$/.test(name)) && names.some((name) => AWS_VPC_FIELD_NAMES.has(name));
}

/**
 * A header-less record whose format starts with the version (the default format, Firehose), bare
 * or as a CloudWatch Logs export writes it, after the event's ISO timestamp.
 */
const AWS_VPC_RECORD = /^(\d{4}-\d{2}-\d{2}T\S+ )?([2-9]|10) \S+ \S+ \S+ \S+/;

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
