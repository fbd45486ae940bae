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
    // IPv6 as flow logs and the agent write it (RFC 5952 text) in 3 of 4 rows; the 4th is written
    // differently (full 8 groups with a zero run, or uppercase) and takes the slow path.
    const group = '(1 + random() * 65534)::INTEGER';
    const ipv6 = (form: string) => `CASE ${form}
        WHEN 0 THEN printf('2001:db8:%x:%x::%x', ${group}, ${group}, ${group})
        WHEN 1 THEN printf('%x:%x:%x:%x:%x:%x:%x:%x', ${group}, ${group}, ${group}, ${group}, ${group}, ${group}, ${group}, ${group})
        WHEN 2 THEN printf('fe80::%x:%x:%x:%x', ${group}, ${group}, ${group}, ${group})
        WHEN 3 THEN CASE WHEN random() < 0.5 THEN printf('2001:%x:%x:0:0:%x:%x:%x', ${group}, ${group}, ${group}, ${group}, ${group})
                         ELSE upper(printf('fe80::%x:%x', ${group}, ${group})) END
        END`;
    const ipv4 = `printf('%d.%d.%d.%d', floor(random() * 256)::INTEGER, floor(random() * 256)::INTEGER,
        floor(random() * 256)::INTEGER, floor(random() * 256)::INTEGER)`;
    await connection.run(`
      CREATE TABLE flows AS
      SELECT CASE WHEN v6 THEN ${ipv6('src_form')} ELSE ${ipv4} END AS src_ip,
             CASE WHEN v6 THEN ${ipv6('dst_form')} ELSE ${ipv4} END AS dst_ip,
             floor(random() * 65536)::INTEGER AS src_port,
             floor(random() * 65536)::INTEGER AS dst_port,
             CASE WHEN random() < 0.6 THEN 6 WHEN random() < 0.9 THEN 17 ELSE 1 END AS protocol
      FROM (SELECT random() < 0.1 AS v6, floor(random() * 4)::INTEGER AS src_form, floor(random() * 4)::INTEGER AS dst_form
            FROM range(${rows}))`);
    const generatedMs = performance.now() - generated;

    const cid = 'community_id_v1(src_ip, dst_ip, src_port, dst_port, protocol)';
    const allRows = 'true';
    const v4Rows = "NOT contains(src_ip, ':')";
    const v6Rows = "contains(src_ip, ':')";
    const queries: { name: string; expr: string; where: string }[] = [
      { name: 'ip_canonical of both ends', expr: 'ip_canonical(src_ip), ip_canonical(dst_ip)', where: allRows },
      { name: 'community_id_v1', expr: cid, where: allRows },
      { name: 'ip_canonical x2 + community_id_v1', expr: `ip_canonical(src_ip), ip_canonical(dst_ip), ${cid}`, where: allRows },
      { name: '  the same, IPv4 rows only', expr: `ip_canonical(src_ip), ip_canonical(dst_ip), ${cid}`, where: v4Rows },
      { name: '  the same, IPv6 rows only', expr: `ip_canonical(src_ip), ip_canonical(dst_ip), ${cid}`, where: v6Rows },
      { name: '(for scale) sha1 + base64 of 16 bytes', expr: "'1:' || to_base64(unhex(sha1(unhex(md5(src_ip)))))", where: allRows },
      { name: '(for scale) md5 of the text', expr: 'md5(src_ip)', where: allRows },
    ];
    const floors = new Map<string, Timing>();
    for (const where of new Set(queries.map((query) => query.where))) {
      floors.set(where, await time(connection, `SELECT sum(hash(src_ip, dst_ip, src_port, dst_port, protocol)) FROM flows WHERE ${where}`));
    }
    const counts = (await connection.runAndReadAll(`SELECT count(*) FILTER (WHERE ${v4Rows}) AS v4, count(*) FILTER (WHERE ${v6Rows}) AS v6 FROM flows`)).getRowObjectsJson()[0]!;
    const rowsOf = (where: string) => (where === v4Rows ? Number(counts.v4) : where === v6Rows ? Number(counts.v6) : rows);
    const results: { name: string; where: string; timing: Timing }[] = [];
    for (const query of queries) {
      results.push({ ...query, timing: await time(connection, `SELECT sum(hash(${query.expr})) FROM flows WHERE ${query.where}`) });
    }

    console.log(
      `ip-macros bench: ${rows.toLocaleString('en')} rows (${Number(counts.v6).toLocaleString('en')} IPv6), DuckDB threads ${threads}, ` +
        `${os.cpus().length} cpus, load average ${os.loadavg()[0]!.toFixed(1)}, generated in ${(generatedMs / 1000).toFixed(1)} s, best of ${repeats}`,
    );
    console.log('added = time over the floor of reading the same rows; cpu = time of all DuckDB threads (less sensitive to other load)');
    console.log(`${'query'.padEnd(40)} ${'wall s'.padStart(7)} ${'added s'.padStart(8)} ${'cpu s'.padStart(7)} ${'added cpu ns/row'.padStart(17)}`);
    const fmt = (ms: number) => (ms / 1000).toFixed(2);
    for (const { where, timing: t } of [...floors.entries()].map(([where, timing]) => ({ where, timing }))) {
      const label = where === allRows ? 'floor: read the columns' : `floor: ${where === v4Rows ? 'IPv4' : 'IPv6'} rows`;
      console.log(`${label.padEnd(40)} ${fmt(t.wallMs).padStart(7)} ${''.padStart(8)} ${fmt(t.cpuMs).padStart(7)}`);
    }
    for (const { name, where, timing: t } of results) {
      const floor = floors.get(where)!;
      const perRow = ((t.cpuMs - floor.cpuMs) * 1e6) / rowsOf(where);
      console.log(`${name.padEnd(40)} ${fmt(t.wallMs).padStart(7)} ${fmt(t.wallMs - floor.wallMs).padStart(8)} ${fmt(t.cpuMs).padStart(7)} ${perRow.toFixed(0).padStart(17)}`);
    }
    const combined = results[2]!.timing;
    const perFiveMillion = ((combined.wallMs - floors.get(allRows)!.wallMs) / 1000) * (5_000_000 / rows);
    console.log(
      `canonicalization + community id add ${perFiveMillion.toFixed(2)} s wall per 5 M rows on ${threads} threads ` + `(target about 1.5 s): ${perFiveMillion <= 1.5 ? 'within' : 'over'} target`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

await main();
