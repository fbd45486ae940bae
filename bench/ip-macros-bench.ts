/**
 * Benchmark of the IP and Community ID macros on generated flows:
 *   node --import tsx bench/ip-macros-bench.ts [rows=5000000] [repeats=3]
 * Builds a table of random 5-tuples in DuckDB (90 % IPv4, 10 % IPv6 in mixed written forms;
 * TCP, UDP, ICMP), then times aggregates over it: the floor of reading the columns, ip_canonical
 * of both ends, community_id_v1, and both together (as a normalize model computes them). Each
 * figure is the best of the repeats (wall clock, and CPU time of all DuckDB threads); "added" is
 * the difference to the floor. The last line compares with the target: canonicalization plus
 * Community ID adding at most about 1.5 s per 5 M rows.
 */
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { loadMacroFiles } from '../lib/net/sql-macros.ts';

const MACRO_FILES = ['00_ip.sql', '10_community_id.sql'];
const rows = Number(process.argv[2] ?? 5_000_000);
const repeats = Number(process.argv[3] ?? 3);

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function time(connection: DuckDBConnection, sql: string): Promise<Timing> {
  let best: Timing = { wallMs: Infinity, cpuMs: Infinity };
  for (let run = 0; run < repeats; run++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await connection.runAndReadAll(sql);
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    if (wallMs < best.wallMs) best = { wallMs, cpuMs: (used.user + used.system) / 1000 };
  }
  return best;
}

async function main(): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    for (const macro of await loadMacroFiles()) {
      if (!MACRO_FILES.includes(path.basename(macro.file))) continue;
      const statements = await connection.extractStatements(macro.sql);
      for (let index = 0; index < statements.count; index++) await (await statements.prepare(index)).run();
    }
    const threads = (await connection.runAndReadAll(`SELECT current_setting('threads') AS t`)).getRowObjectsJson()[0]?.t;

    const generated = performance.now();
    await connection.run(`SELECT setseed(0.42)`);
    // An IPv6 address in one of three written forms: compressible zeros, full 8 groups, uppercase.
    const ipv6 = `CASE (random() * 3)::INTEGER % 3
        WHEN 0 THEN printf('2001:db8:%x:%x::%x', (random() * 65535)::INTEGER, (random() * 65535)::INTEGER, (random() * 65535)::INTEGER)
        WHEN 1 THEN printf('%x:%x:%x:%x:%x:%x:%x:%x', (random() * 65535)::INTEGER, (random() * 65535)::INTEGER, 0, 0,
                           (random() * 65535)::INTEGER, (random() * 65535)::INTEGER, (random() * 65535)::INTEGER, (random() * 65535)::INTEGER)
        ELSE upper(printf('fe80::%x:%x', (random() * 65535)::INTEGER, (random() * 65535)::INTEGER)) END`;
    const ipv4 = `printf('%d.%d.%d.%d', floor(random() * 256)::INTEGER, floor(random() * 256)::INTEGER,
        floor(random() * 256)::INTEGER, floor(random() * 256)::INTEGER)`;
    await connection.run(`
      CREATE TABLE flows AS
      SELECT CASE WHEN v6 THEN ${ipv6} ELSE ${ipv4} END AS src_ip,
             CASE WHEN v6 THEN ${ipv6} ELSE ${ipv4} END AS dst_ip,
             floor(random() * 65536)::INTEGER AS src_port,
             floor(random() * 65536)::INTEGER AS dst_port,
             CASE WHEN random() < 0.6 THEN 6 WHEN random() < 0.9 THEN 17 ELSE 1 END AS protocol
      FROM (SELECT random() < 0.1 AS v6 FROM range(${rows}))`);
    const generatedMs = performance.now() - generated;

    const cid = 'community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol)';
    const queries: [name: string, sql: string][] = [
      ['floor: read the columns', `SELECT sum(hash(src_ip, dst_ip, src_port, dst_port, protocol)) FROM flows`],
      ['ip_canonical of both ends', `SELECT sum(hash(ip_canonical(src_ip), ip_canonical(dst_ip), src_port, dst_port, protocol)) FROM flows`],
      ['community_id_v1', `SELECT sum(hash(src_ip, dst_ip, ${cid})) FROM flows`],
      ['ip_canonical x2 + community_id_v1', `SELECT sum(hash(ip_canonical(src_ip), ip_canonical(dst_ip), ${cid})) FROM flows`],
      ['(for scale) DuckDB sha1 + base64 of 16 bytes', `SELECT sum(hash('1:' || to_base64(unhex(sha1(unhex(md5(src_ip)[:32])))))) FROM flows`],
      ['(for scale) md5 hex of the text', `SELECT sum(hash(md5(src_ip))) FROM flows`],
    ];
    const results: { name: string; timing: Timing }[] = [];
    for (const [name, sql] of queries) results.push({ name, timing: await time(connection, sql) });

    const floor = results[0]!.timing;
    const mix = (await connection.runAndReadAll(`SELECT count(*) FILTER (WHERE contains(src_ip, ':'))::DOUBLE / count(*) AS v6 FROM flows`)).getRowObjectsJson()[0];
    console.log(`ip-macros bench: ${rows.toLocaleString('en')} rows (${(Number(mix?.v6) * 100).toFixed(1)} % IPv6), DuckDB threads ${threads}, ${os.cpus().length} cpus, generated in ${(generatedMs / 1000).toFixed(1)} s, best of ${repeats}`);
    console.log(`${'query'.padEnd(48)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(8)} ${'added s'.padStart(8)} ${'ns/row'.padStart(8)}`);
    for (const { name, timing } of results) {
      const added = timing.wallMs - floor.wallMs;
      console.log(
        `${name.padEnd(48)} ${(timing.wallMs / 1000).toFixed(2).padStart(8)} ${(timing.cpuMs / 1000).toFixed(2).padStart(8)} ${(added / 1000).toFixed(2).padStart(8)} ${((added * 1e6) / rows).toFixed(0).padStart(8)}`,
      );
    }
    const combinedAdded = (results[3]!.timing.wallMs - floor.wallMs) / 1000;
    const perFiveMillion = (combinedAdded * 5_000_000) / rows;
    console.log(`canonicalization + community id add ${perFiveMillion.toFixed(2)} s per 5 M rows (target about 1.5 s): ${perFiveMillion <= 1.5 ? 'within' : 'over'} target`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

await main();
