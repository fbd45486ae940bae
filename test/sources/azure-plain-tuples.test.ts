import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../lib/duckdb/duckdb-session.ts';
import { createLogger } from '../../lib/log/logger.ts';
import { loadModelFiles } from '../../lib/models/model-definition.ts';
import { ModelRunner } from '../../lib/models/model-runner.ts';
import { loadMacroFiles } from '../../lib/net/sql-macros.ts';
import { NSG_PLAIN_TUPLES, PlainTupleForm, VNET_PLAIN_TUPLES, type FieldForm } from '../../lib/sources/azure-plain-tuples.ts';
import { DEFAULT_SQL_DIR } from '../../lib/sources/normalize-file.ts';
import { sourceByType } from '../../lib/sources/registry.ts';
import { installStagedInputs, stagedRelations } from '../../lib/staging/install-staged-inputs.ts';
import { stageJsonRecords, tuplesPathOf, typedTuplesPathOf, type TupleTyper } from '../../lib/staging/stage-json-records.ts';
import { DEFAULT_STAGE_LIMITS } from '../../lib/staging/stage-lines.ts';
import type { StagedObject } from '../../lib/staging/stage-objects.ts';
import { STAGING_SOURCES } from '../../lib/sources/staging-sources.ts';

/**
 * Staging types the plain Azure flow tuples (lib/sources/azure-plain-tuples.ts) and the models
 * take them as typed; every other tuple is typed and checked in SQL. Both paths must give every
 * tuple the same row, flow or quarantined: the same generated documents (plain tuples and tuples
 * damaged field by field, of both NSG versions and VNet) are staged once with the sources' plain
 * forms and once with a form that types nothing, and the models' rows compared column by column.
 */
const SEED = Number(process.env.NETFLOW_TEST_SEED ?? 20261128);
const RECORDS = 400;

const ipv4 = fc.ipV4();
/** A field in its plain form (weight 30), or one of the forms that are not plain, valid or not. */
function field(plain: fc.Arbitrary<string>, others: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: plain, weight: 30 }, { arbitrary: others, weight: 1 });
}
const address = field(
  ipv4,
  fc.oneof(
    fc.ipV6(),
    ipv4.map((v4) => `::ffff:${v4}`),
    ipv4.map((v4) => v4.replace(/^(\d)\./, '0$1.')),
    fc.constantFrom('', '10.0.0.256', '1.2.3', '1.2.3.4.5', ' 10.0.0.1', '10.0.0.1 ', '2001:DB8::A', 'fe80::1%eth0', '1..2.3', '0.0.0.0', '255.255.255.255', '1234.0.0.1'),
  ),
);
const port = field(fc.integer({ min: 0, max: 65535 }).map(String), fc.constantFrom('', '00443', '0', '65535', '65536', '-1', '+80', '1e3', '0x10', '80.0', ' 80', '99999'));
const seconds = field(
  fc.integer({ min: 946684800, max: 4102444800 }).map(String),
  fc.constantFrom('', '946684799', '4102444801', '0946684800', '+1714568400', '1714568400.0', '1.7e9', '1714568400000', 'yesterday', ' 1714568400'),
);
const millis = field(
  fc.integer({ min: 946684800000, max: 4102444800000 }).map(String),
  fc.constantFrom('', '946684799999', '4102444800001', '01714568400000', '1714568400', '1714568400000.5', '-1714568400000'),
);
const counter = field(
  fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }).map(String), fc.nat(100000).map(String)),
  fc.constantFrom('007', '-1', '1.5', '1e3', '9223372036854775807', '9223372036854775808', '99999999999999999999', ' 1', 'many'),
);
const letter = (letters: string) => field(fc.constantFrom(...letters), fc.constantFrom('', 'x', 'Z', letters.toLowerCase()[0]!, `${letters[0]}${letters[0]}`, ' '));
const encryption = field(fc.constantFrom('X', 'NX', 'NX_HW_NOT_SUPPORTED', 'NX_SW_NOT_READY', ''), fc.constantFrom('a b', 'NX-1', 'é', '%'));

/** A tuple's fields joined, sometimes with one field too few or too many. */
function tuple(fields: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.tuple(...fields), fc.integer({ min: 0, max: 29 }))
    .map(([values, shape]) => (shape === 0 ? values.slice(0, -1).join(',') : shape === 1 ? [...values, '1'].join(',') : values.join(',')));
}
const nsgV1Tuple = tuple([seconds, address, address, port, port, letter('TU'), letter('IO'), letter('AD')]);
const nsgV2Tuple = tuple([seconds, address, address, port, port, letter('TU'), letter('IO'), letter('AD'), letter('BCED'), counter, counter, counter, counter]);
const vnetTuple = tuple([
  millis,
  address,
  address,
  port,
  port,
  field(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('', '006', '256', '-1', 'T', '6.0')),
  letter('IO'),
  letter('BCED'),
  encryption,
  counter,
  counter,
  counter,
  counter,
]);
/** Now and then a tuple of the other version's shape, an empty one, or a number instead of a string. */
function tuples(own: fc.Arbitrary<string>, other: fc.Arbitrary<string>): fc.Arbitrary<unknown[]> {
  return fc.array(fc.oneof({ arbitrary: own, weight: 30 }, { arbitrary: other, weight: 3 }, { arbitrary: fc.constantFrom('', 1714568400), weight: 1 }), { minLength: 0, maxLength: 12 });
}
const mac = fc.constantFrom('000D3AF87856', '00-0D-3A-F8-78-57', '00224871C205');

const nsgRecord = fc.record({ version: fc.constantFrom(1, 2, 2, 2), macs: fc.array(mac, { minLength: 1, maxLength: 2 }), rules: fc.integer({ min: 1, max: 2 }) }).chain(({ version, macs, rules }) =>
  fc
    .array(fc.array(version === 1 ? tuples(nsgV1Tuple, nsgV2Tuple) : tuples(nsgV2Tuple, nsgV1Tuple), { minLength: macs.length, maxLength: macs.length }), { minLength: rules, maxLength: rules })
    .map((groups) => ({
      time: '2024-05-01T13:00:00.0000000Z',
      systemId: 's',
      category: 'NetworkSecurityGroupFlowEvent',
      operationName: 'NetworkSecurityGroupFlowEvents',
      resourceId: '/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG',
      properties: { Version: version, flows: groups.map((byMac, rule) => ({ rule: `Rule_${rule}`, flows: byMac.map((flowTuples, index) => ({ mac: macs[index], flowTuples })) })) },
    })),
);
const vnetRecord = fc.record({ mac, acls: fc.integer({ min: 1, max: 2 }), rules: fc.integer({ min: 1, max: 2 }) }).chain(({ mac, acls, rules }) =>
  fc.array(fc.array(tuples(vnetTuple, nsgV2Tuple), { minLength: rules, maxLength: rules }), { minLength: acls, maxLength: acls }).map((groups) => ({
    time: '2024-05-01T13:00:00.0000000Z',
    flowLogVersion: 4,
    flowLogGUID: 'g',
    macAddress: mac,
    category: 'FlowLogFlowEvent',
    operationName: 'FlowLogFlowEvent',
    flowLogResourceID: '/SUBSCRIPTIONS/S/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/FL',
    targetResourceID: '/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default',
    flowRecords: { flows: groups.map((byRule, acl) => ({ aclID: `acl-${acl}`, flowGroups: byRule.map((flowTuples, rule) => ({ rule: `Rule_${rule}`, flowTuples })) })) },
  })),
);

/** A first record of one plain tuple, which normalize() also stages under a group the record does not have. */
function withFirst<T>(records: T[], first: string): T[] {
  const record = structuredClone(records[0]!) as {
    properties?: { Version: number; flows: { flows: { flowTuples: unknown[] }[] }[] };
    flowRecords?: { flows: { flowGroups: { flowTuples: unknown[] }[] }[] };
  };
  if (record.properties) {
    record.properties.Version = 2;
    record.properties.flows = [{ ...record.properties.flows[0]!, flows: [{ ...record.properties.flows[0]!.flows[0]!, flowTuples: [first] }] }];
  } else {
    record.flowRecords!.flows = [{ ...record.flowRecords!.flows[0]!, flowGroups: [{ ...record.flowRecords!.flows[0]!.flowGroups[0]!, flowTuples: [first] }] }];
  }
  return [record as T, ...records];
}

describe('Azure flow tuples typed while staging', () => {
  let dir: string;
  const documents = {
    azure_nsg: JSON.stringify({ records: withFirst(fc.sample(nsgRecord, { seed: SEED, numRuns: RECORDS }), '1714568400,10.0.0.1,10.0.0.2,1024,443,T,I,A,B,,,,') }),
    azure_vnet: JSON.stringify({ records: withFirst(fc.sample(vnetRecord, { seed: SEED + 1, numRuns: RECORDS }), '1714568400000,10.0.0.1,10.0.0.2,1024,443,6,I,B,X,,,,') }),
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netflow-azure-plain-'));
    for (const [sourceType, text] of Object.entries(documents)) await writeFile(path.join(dir, `${sourceType}.json`), text);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /**
   * Stages both documents with these typers (none: every tuple as text), runs the Azure models,
   * and returns their rows and how many tuples were staged typed.
   */
  async function normalize(name: string, forms: { azure_nsg?: TupleTyper; azure_vnet?: TupleTyper }): Promise<{ rows: Record<string, Record<string, unknown>[]>; typed: number; tuples: number }> {
    const workDir = path.join(dir, name);
    const staged: StagedObject[] = [];
    let typed = 0;
    let tuples = 0;
    for (const [objectIdx, sourceType] of (['azure_nsg', 'azure_vnet'] as const).entries()) {
      const source = sourceByType(sourceType);
      const linesPath = path.join(workDir, 'lines', sourceType, `${objectIdx}.txt`);
      await mkdir(path.dirname(linesPath), { recursive: true });
      const result = await stageJsonRecords(path.join(dir, `${sourceType}.json`), linesPath, DEFAULT_STAGE_LIMITS, [source.tuplePath!], forms[sourceType]);
      expect(result.rejected).toEqual([]);
      const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').length - 1;
      typed += await lines(typedTuplesPathOf(linesPath));
      tuples += (await lines(typedTuplesPathOf(linesPath))) + (await lines(tuplesPathOf(linesPath)));
      // Record 1's tuple once more, as if in a group 99 the record does not have: whether staged
      // typed or as text, the model quarantines it with its text.
      for (const [file, separator] of [
        [tuplesPathOf(linesPath), '\x1f'],
        [typedTuplesPathOf(linesPath), ','],
      ] as const) {
        const first = (await readFile(file, 'utf8').catch(() => '')).split('\n').find((line) => line.startsWith(`1000001${separator}`));
        if (first) await appendFile(file, `${['1999999', '99', ...first.split(separator).slice(2)].join(separator)}\n`);
      }
      staged.push({
        objectIdx,
        object: { key: `${sourceType}/PT1H.json`, etag: '', size: 0, lastModified: new Date(0), sourceType, regionHint: null },
        staging: 'json-records',
        linesPath,
        stagedLines: result.stagedLines,
      });
    }
    const session = await DuckDbSession.open({ workDir, memoryLimit: '512MB', maxTempDirectorySize: '256MB', threads: 2 });
    try {
      for (const macro of await loadMacroFiles(path.join(DEFAULT_SQL_DIR, 'macros'))) await session.runScript(macro.sql);
      await installStagedInputs(session, workDir, staged, [], { sources: STAGING_SOURCES.all });
      // Only the Azure models: the other sources' models would build empty tables on every run.
      const models = (await loadModelFiles(DEFAULT_SQL_DIR)).filter((model) => model.stage === 'normalize' && model.name.startsWith('azure_'));
      const run = await new ModelRunner(session, createLogger({ level: 'error', write: () => {} })).run(models, new Set(stagedRelations(STAGING_SOURCES.all)));
      expect(run.error).toBeUndefined();
      const rows: Record<string, Record<string, unknown>[]> = {};
      for (const sourceType of ['azure_nsg', 'azure_vnet']) rows[sourceType] = await session.all(`SELECT * FROM ${sourceType}__records ORDER BY raw_offset`);
      return { rows, typed, tuples };
    } finally {
      session.close();
    }
  }

  /** Rows that differ between the two runs, described (at most 10). */
  function differences(a: Record<string, unknown>[], b: Record<string, unknown>[]): string[] {
    const found: string[] = [];
    if (a.length !== b.length) found.push(`${a.length} rows against ${b.length}`);
    for (let index = 0; index < Math.min(a.length, b.length) && found.length < 10; index++) {
      const [x, y] = [a[index]!, b[index]!];
      const columns = Object.keys(x).filter((column) => String(x[column]) !== String(y[column]) || (x[column] === null) !== (y[column] === null));
      if (columns.length > 0) found.push(`raw_offset ${String(x.raw_offset)} (${String(y.raw_text ?? x.raw_text ?? '')}): ${columns.map((c) => `${c} ${String(x[c])} vs ${String(y[c])}`).join(', ')}`);
    }
    return found;
  }

  let reference: Awaited<ReturnType<typeof normalize>>;
  beforeAll(async () => {
    reference = await normalize('text-only', {});
  });

  it('gives every tuple the row the SQL path gives it: values, quarantine reasons, raw text and lineage', async () => {
    const staged = await normalize('plain', { azure_nsg: NSG_PLAIN_TUPLES, azure_vnet: VNET_PLAIN_TUPLES });
    console.log(`[azure-plain-tuples] seed ${SEED}: ${staged.tuples} tuples, ${staged.typed} typed while staging`);
    // Both paths are exercised: most tuples are plain, and many are not.
    expect(staged.typed).toBeGreaterThan(staged.tuples / 3);
    expect(staged.typed).toBeLessThan(staged.tuples * 0.9);
    for (const sourceType of ['azure_nsg', 'azure_vnet']) {
      const rows = reference.rows[sourceType]!;
      const byStatus = (status: string) => rows.filter((row) => row.record_status === status).length;
      expect(byStatus('flow'), sourceType).toBeGreaterThan(rows.length / 3);
      expect(byStatus('invalid'), sourceType).toBeGreaterThan(rows.length / 10);
      expect(differences(staged.rows[sourceType]!, rows), sourceType).toEqual([]);
    }
    // Some NSG tuples are of a NIC whose VNet flow log is read too: not counted twice.
    expect(staged.rows.azure_nsg!.some((row) => row.record_status === 'flow' && row.counts_in_totals === false)).toBe(true);
    for (const sourceType of ['azure_nsg', 'azure_vnet']) {
      expect(
        staged.rows[sourceType]!.find((row) => row.raw_offset === 1_999_999n),
        sourceType,
      ).toMatchObject({ record_status: 'invalid', invalid_reason: expect.stringMatching(/^record 1, tuple 999999: the record has no (MAC|rule) group 99$/) });
    }
  });

  // The comparison above must catch a form that types a tuple SQL would read otherwise.
  const changed = (name: string, form: FieldForm) => NSG_PLAIN_TUPLES.fields.map(([n, f]): [string, FieldForm] => [n, n === name ? form : f]);
  it.each([
    { wrong: 'a port up to 99999', form: new PlainTupleForm(changed('plain_src_port', { decimal: [0, 99999], type: 'INTEGER' }), [8, 13]) },
    { wrong: 'a time before 2000', form: new PlainTupleForm(changed('plain_time', { decimal: [0, 4102444800], type: 'BIGINT' }), [8, 13]) },
    { wrong: 'a flow state Z', form: new PlainTupleForm(changed('plain_flow_state', { letters: 'BCEDZ' }), [8, 13]) },
    { wrong: 'a 12-field tuple', form: new PlainTupleForm(NSG_PLAIN_TUPLES.fields, [8, 12, 13]) },
  ])('fails for a form that wrongly accepts $wrong', async ({ wrong, form }) => {
    const staged = await normalize(`wrong-${wrong.replace(/\W+/g, '-')}`, { azure_nsg: form, azure_vnet: VNET_PLAIN_TUPLES });
    expect(differences(staged.rows.azure_nsg!, reference.rows.azure_nsg!).length).toBeGreaterThan(0);
  });

  it('stages a plain tuple in the typed file, its fields as columns, and any other as text', async () => {
    const file = path.join(dir, 'two-tuples.json');
    await writeFile(
      file,
      JSON.stringify({
        records: [{ properties: { flows: [{ flows: [{ flowTuples: ['1542110377,10.5.16.4,13.67.143.118,59831,443,T,O,A,B,,,,', '1542110377,10.5.16.4,13.67.143.118,059831,443,T,O,A,B,,,,'] }] }] } }],
      }),
    );
    const linesPath = path.join(dir, 'two-tuples', '0.txt');
    await mkdir(path.dirname(linesPath), { recursive: true });
    await stageJsonRecords(file, linesPath, DEFAULT_STAGE_LIMITS, [sourceByType('azure_nsg').tuplePath!], NSG_PLAIN_TUPLES);
    expect(await readFile(typedTuplesPathOf(linesPath), 'utf8')).toBe('1000001,1,1542110377,10.5.16.4,13.67.143.118,59831,443,T,O,A,B,,,,\n');
    expect((await readFile(tuplesPathOf(linesPath), 'utf8')).replaceAll('\x1f', '|')).toBe('1000002|1|1542110377,10.5.16.4,13.67.143.118,059831,443,T,O,A,B,,,,\n');
    // Version 1's eight fields: five empty columns after them.
    await writeFile(file, JSON.stringify({ records: [{ properties: { flows: [{ flows: [{ flowTuples: ['1542110377,10.5.16.4,13.67.143.118,59831,443,T,O,A'] }] }] } }] }));
    await stageJsonRecords(file, linesPath, DEFAULT_STAGE_LIMITS, [sourceByType('azure_nsg').tuplePath!], NSG_PLAIN_TUPLES);
    expect(await readFile(typedTuplesPathOf(linesPath), 'utf8')).toBe('1000001,1,1542110377,10.5.16.4,13.67.143.118,59831,443,T,O,A,,,,,\n');
  });
});
