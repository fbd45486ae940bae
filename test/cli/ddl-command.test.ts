import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { QUERYABLE_TABLES } from '../../schemas/tables/index.ts';
import { engineColumns } from '../../lib/delta/column-types.ts';

async function ddl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['ddl', ...args], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), cwd: process.cwd(), env: {} });
  return { code, stdout, stderr };
}

const LOCATION = 's3://lake-bucket/netflow';

describe('netflow ddl', () => {
  it.each([
    {
      engine: 'athena',
      registration: (table: string, root: string) => `CREATE EXTERNAL TABLE \`netflow\`.\`${table}\`\nLOCATION '${LOCATION}/${root}/${table}/'\nTBLPROPERTIES ('table_type' = 'DELTA');`,
    },
    {
      engine: 'trino',
      registration: (table: string, root: string) => `CALL "delta".system.register_table(schema_name => 'netflow', table_name => '${table}', table_location => '${LOCATION}/${root}/${table}');`,
    },
    { engine: 'spark', registration: (table: string, root: string) => `USING DELTA\nPARTITIONED BY (\`dt\`, \`hour\`)\nLOCATION '${LOCATION}/${root}/${table}';` },
    { engine: 'duckdb', registration: (table: string, root: string) => `CREATE OR REPLACE VIEW "netflow"."${table}" AS SELECT * FROM delta_scan('${LOCATION}/${root}/${table}');` },
  ])('$engine: registers every curated table at its location, with every column documented', async ({ engine, registration }) => {
    const { code, stdout, stderr } = await ddl('--engine', engine, '--location', `${LOCATION}/`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const table of QUERYABLE_TABLES) {
      expect(stdout, table.name).toContain(registration(table.name, table.root));
      for (const column of engineColumns(table)) {
        const doc = engine === 'spark' ? column.doc.replaceAll("'", "\\'") : engine === 'duckdb' ? column.doc.replaceAll("'", "''") : column.doc;
        expect(stdout, `${table.name}.${column.name}`).toContain(engine === 'duckdb' ? `"${table.name}"."${column.name}" IS '${doc}';` : doc);
      }
    }
    expect(stdout).toContain('ocsf_network_activity');
  });

  it('spark: states each column with its type, nullability and comment, as the Delta log does', async () => {
    const { stdout } = await ddl('--engine', 'spark', '--location', LOCATION, '--table', 'flows');
    expect(stdout).toContain("  `flow_id` STRING NOT NULL COMMENT 'deterministic id: hash of source type, raw object key and line',");
    expect(stdout).toContain("  `src_vm_id` STRING COMMENT 'VM at the source end, from the inventory',");
    expect(stdout).toContain("  `src_segment` STRING COMMENT 'network segment: the VM\\'s, else the matched range\\'s, else \"internet\" for public addresses',");
    expect(stdout).toContain("  `hour` STRING NOT NULL COMMENT 'event hour of the partition (UTC), two digits 00-23'\n)");
    expect(stdout.match(/CREATE TABLE/g)).toHaveLength(1);
  });

  it('duckdb: every statement parses in DuckDB (the delta extension itself is not loaded here)', async () => {
    const { stdout } = await ddl('--engine', 'duckdb', '--location', LOCATION);
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const connection = await instance.connect();
    try {
      const statements = await connection.extractStatements(stdout);
      const columns = QUERYABLE_TABLES.reduce((sum, table) => sum + engineColumns(table).length, 0);
      // INSTALL, LOAD, CREATE SCHEMA; per table a view, its comment and one per column; the OCSF view.
      expect(statements.count).toBe(3 + QUERYABLE_TABLES.length * 2 + columns + 1);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it.each([
    { args: [], message: 'ddl needs --engine, one of athena, trino, spark, duckdb' },
    { args: ['--engine', 'hive'], message: '--engine must be one of athena, trino, spark, duckdb, got "hive"' },
    {
      args: ['--engine', 'spark', '--table', 'flow'],
      message: '--table must be one of flows, violations, traffic_matrix, alerts, quarantine, late_records, anomalies, capacity_hourly, ocsf_network_activity, got "flow"',
    },
    { args: ['--engine', 'athena', '--location', '/data/lake'], message: 'athena reads tables on S3 only: give --location s3://bucket/prefix, got "/data/lake"' },
    { args: ['--engine', 'spark', '--location', 'lake'], message: '--location must be a URL such as s3://bucket/prefix or an absolute path, got "lake"' },
    { args: ['--engine', 'trino', '--schema', 'net flow'], message: '--schema must be a plain identifier (letters, digits, _), got "net flow"' },
  ])('refuses $args with a precise message and exit code 2', async ({ args, message }) => {
    const { code, stdout, stderr } = await ddl(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`netflow: ${message}\n`);
  });

  it('--table ocsf_network_activity prints only the view; --table flows only the table', async () => {
    const view = await ddl('--engine', 'trino', '--location', LOCATION, '--table', 'ocsf_network_activity');
    expect(view.stdout).not.toContain('register_table');
    expect(view.stdout).toContain('CREATE OR REPLACE VIEW "delta"."netflow"."ocsf_network_activity" AS');
    const flows = await ddl('--engine', 'athena', '--location', LOCATION, '--table', 'flows');
    expect(flows.stdout.match(/CREATE EXTERNAL TABLE/g)).toHaveLength(1);
    expect(flows.stdout).not.toContain('ocsf_network_activity');
  });
});
