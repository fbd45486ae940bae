import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonRecordSplitter, OVERSIZED_HEAD_BYTES, type TupleProbe, type TuplePath } from '../../lib/staging/json-record-splitter.ts';
import { ObjectUnreadableError } from '../../lib/staging/stage-lines.ts';

interface Split {
  records: string[];
  /** Per record handed on: its tuples, as [group, text]. */
  tuples: [number, string][][];
  refused: { index: number; reason: string; head: string }[];
  /** The tuples the probe accepted, as text. */
  probed: string[];
}

/**
 * A probe as wide as a TupleProbe may be: every string of ASCII letters, digits, '.', ',' and
 * '_' (lib/sources/azure-plain-tuples.ts accepts a part of them).
 */
const widestProbe: TupleProbe = (text, from, to) => {
  for (let at = from; at < to; at++) if (!/[A-Za-z0-9.,_]/.test(String.fromCharCode(text[at]!))) return 0;
  return to > from ? 1 : 0;
};

/** Feeds `bytes` to a splitter in the given chunk sizes (the rest as one last chunk). */
function split(bytes: Buffer, chunkSizes: number[] = [], maxRecordBytes = 1 << 20, paths: readonly TuplePath[] = [], probe?: TupleProbe): Split {
  const result: Split = { records: [], tuples: [], refused: [], probed: [] };
  let pending: [number, string][] = [];
  const splitter = new JsonRecordSplitter(
    maxRecordBytes,
    {
      tuple: (index, group, text, from, to, probed) => {
        expect(index).toBe(result.records.length + result.refused.length + 1);
        pending.push([group, text.toString('utf8', from, to)]);
        if (probed > 0) result.probed.push(text.toString('utf8', from, to));
      },
      record: (index, pieces) => {
        expect(index).toBe(result.records.length + result.refused.length + 1);
        result.records.push(Buffer.concat(pieces).toString('utf8'));
        result.tuples.push(pending);
        pending = [];
      },
      refused: (index, reason, head) => {
        result.refused.push({ index, reason, head: head.toString('utf8') });
        pending = [];
      },
    },
    paths,
    probe,
  );
  let at = 0;
  for (const size of chunkSizes) {
    if (at >= bytes.length) break;
    splitter.feed(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length) splitter.feed(bytes.subarray(at));
  splitter.end();
  return result;
}

function outcome(bytes: Buffer, chunkSizes: number[], paths: readonly TuplePath[] = [], probe?: TupleProbe): { ok: true; records: unknown[] } | { ok: false; error: string } {
  try {
    return { ok: true, records: split(bytes, chunkSizes, 1 << 20, paths, probe).records.map((text) => JSON.parse(text) as unknown) };
  } catch (error) {
    if (!(error instanceof ObjectUnreadableError)) throw error;
    return { ok: false, error: error.message };
  }
}

/** What JSON.parse makes of the same bytes: the records, or why the document is refused. */
function reference(bytes: Buffer): { ok: true; records: unknown[] } | { ok: false } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return { ok: false };
  }
  if (text.trim() === '') return { ok: true, records: [] };
  try {
    const document = JSON.parse(text) as unknown;
    if (typeof document !== 'object' || document === null || Array.isArray(document) || !Array.isArray((document as { records?: unknown }).records)) return { ok: false };
    return { ok: true, records: (document as { records: unknown[] }).records };
  } catch {
    return { ok: false };
  }
}

const chunking = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 });
const recordValue = fc.oneof({ weight: 4, arbitrary: fc.object({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const documentText = fc
  .record({
    records: fc.array(recordValue, { maxLength: 6 }),
    before: fc.dictionary(
      fc.string({ maxLength: 6 }).filter((key) => key !== 'records'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 2 },
    ),
    indent: fc.constantFrom(undefined, 1, 2, '\t'),
  })
  .map(({ records, before, indent }) => JSON.stringify({ ...before, records }, null, indent));

describe('JsonRecordSplitter: a records document split record by record as it streams', () => {
  it('gives exactly the records JSON.parse finds, in compact text, however the bytes are chunked', () => {
    fc.assert(
      fc.property(documentText, chunking, (text, chunks) => {
        const got = outcome(Buffer.from(text), chunks);
        expect(got).toEqual({ ok: true, records: (JSON.parse(text) as { records: unknown[] }).records });
        // Compact: no whitespace outside strings.
        for (const record of split(Buffer.from(text), chunks).records) expect(record).toBe(JSON.stringify(JSON.parse(record)));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a damaged document exactly when JSON.parse does (cut, byte replaced or inserted)', () => {
    // Bytes that matter to JSON's grammar, more often than chance would pick them.
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from(',:[]{}"\\ 0-.eE+tfnu')));
    const damaged = fc.tuple(documentText, fc.nat(), byte, fc.constantFrom('cut', 'replace', 'insert')).map(([text, at, byte, how]) => {
      const bytes = Buffer.from(text);
      const position = at % (bytes.length + 1);
      if (how === 'cut') return bytes.subarray(0, position);
      if (how === 'replace' && position < bytes.length) return Buffer.concat([bytes.subarray(0, position), Buffer.from([byte]), bytes.subarray(position + 1)]);
      return Buffer.concat([bytes.subarray(0, position), Buffer.from([byte]), bytes.subarray(position)]);
    });
    fc.assert(
      fc.property(damaged, chunking, (bytes, chunks) => {
        const want = reference(bytes);
        const got = outcome(bytes, chunks);
        if (want.ok) expect(got).toEqual(want);
        else expect(got.ok).toBe(false);
        // Taking tuples apart changes nothing of the verdict.
        expect(outcome(bytes, chunks, [['a', '*'], ['records']]).ok).toBe(got.ok);
      }),
      { numRuns: 2000 },
    );
  });

  // Every corner of the grammar of numbers, literals and escapes, as a record and inside one, fed
  // whole and byte by byte: valid exactly when JSON.parse says so.
  const TOKENS = [
    '0',
    '-0',
    '7',
    '-12',
    '01',
    '-01',
    '+1',
    '1.',
    '.5',
    '1.5',
    '1.5.2',
    '1e5',
    '1E+5',
    '1e-05',
    '1e',
    '1e+',
    '-',
    '--1',
    '0x10',
    '1_0',
    'Infinity',
    'NaN',
    'true',
    'false',
    'null',
    'tru',
    'nulll',
    'True',
    'nul',
    '"a"',
    '""',
    '"\\u00e9"',
    '"\\u00E9\\uD83D\\uDE00"',
    '"\\u00e"',
    '"\\u00eg"',
    '"\\x41"',
    '"\\/"',
    '"\\b\\f\\n\\r\\t\\"\\\\"',
    '"\\"',
    '"a',
    "'a'",
  ];
  it.each(TOKENS.flatMap((token) => [`{"records": [${token}]}`, `{"records": [{"a": ${token}, "b": [${token}]}]}`, `{"x": ${token}, "records": []}`]))('%s', (text) => {
    const want = reference(Buffer.from(text));
    expect(outcome(Buffer.from(text), []).ok).toBe(want.ok);
    expect(outcome(Buffer.from(text), Array(text.length).fill(1))).toEqual(outcome(Buffer.from(text), []));
  });

  it.each([
    { name: 'cut off', text: '{"records": [\n{"a": 1},\n{"b": [1, 2', error: 'JSON document is cut off at line 3' },
    { name: 'a bad token', text: '{"records": [\n{"a": tru}\n]}', error: 'JSON document is not valid JSON at line 2: \'}\' in what should be "true"' },
    { name: 'a mismatched bracket', text: '{"records": [{"a": [1}]}', error: "JSON document is not valid JSON at line 1: unexpected '}'" },
    { name: 'a raw control character in a string', text: '{"records": ["a\tb"]}', error: 'JSON document is not valid JSON at line 1: control character 0x09 in a string' },
    { name: 'data after the document', text: '{"records": []}\n{"records": []}', error: "JSON document is not valid JSON at line 2: unexpected '{'" },
    { name: 'no records array', text: '{"value": [{"records": []}]}', error: 'not a flow log document: expected a JSON object with a "records" array' },
    { name: 'records that is not an array', text: '{"records": {"a": 1}}', error: 'not a flow log document: expected a JSON object with a "records" array' },
    { name: 'a top-level array', text: '[{"records": []}]', error: 'not a flow log document: expected a JSON object with a "records" array' },
    { name: 'records twice', text: '{"records": [], "records": []}', error: 'not a flow log document: "records" appears more than once' },
    { name: 'text that is not JSON', text: 'version account-id\n2 123\n', error: "JSON document is not valid JSON at line 1: unexpected 'v'" },
  ])('refuses a document with $name, naming the line', ({ text, error }) => {
    expect(() => split(Buffer.from(text))).toThrow(error);
  });

  it('names the line of bytes that are not UTF-8, also when a character is cut by a chunk boundary', () => {
    const text = Buffer.from('{"records": [\n{"a": "é"},\n{"b": "\u20ac"}]}');
    for (let size = 1; size < text.length; size++) expect(split(text, Array(text.length).fill(size)).records).toEqual(['{"a":"é"}', '{"b":"\u20ac"}']);
    const bad = Buffer.concat([Buffer.from('{"records": [\n{"a": 1},\n{"b": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    expect(() => split(bad, [20])).toThrow('line 3 holds bytes that are not valid UTF-8');
    expect(() => split(Buffer.from([0x7b, 0xe2, 0x82]))).toThrow('line 1 holds bytes that are not valid UTF-8');
  });

  it('skips a byte order mark, finds an escaped "records" key, keeps escapes and numbers as written', () => {
    const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"meta": {"records": 1}, "rec\\u006frds": [ {"t": "a\\u0041\\n", "n": 1.50e+2} , 7 ]}')]);
    expect(split(text, [1, 1, 1, 2]).records).toEqual(['{"t":"a\\u0041\\n","n":1.50e+2}', '7']);
    expect(split(Buffer.from(' \n\t')).records).toEqual([]);
  });

  // Tuples taken apart at paths: checked against JSON.parse and a walk of the parsed record.
  const NSG_PATH: TuplePath = ['properties', 'flows', '*', 'flows', '*', 'flowTuples'];
  const VNET_PATH: TuplePath = ['flowRecords', 'flows', '*', 'flowGroups', '*', 'flowTuples'];

  /** The record with each array at a path emptied, and the arrays' elements as [group, text]. */
  function takeApart(record: unknown, paths: readonly TuplePath[]): { header: unknown; tuples: [number, string][] } {
    const tuples: [number, string][] = [];
    let group = 0;
    const walk = (value: unknown, rest: readonly TuplePath[]): unknown => {
      if (rest.some((path) => path.length === 0) && Array.isArray(value)) {
        group++;
        for (const element of value) tuples.push([group, typeof element === 'string' ? element : JSON.stringify(element)]);
        return [];
      }
      if (Array.isArray(value))
        return value.map((element) =>
          walk(
            element,
            rest.filter((path) => path[0] === '*').map((path) => path.slice(1)),
          ),
        );
      if (typeof value === 'object' && value !== null) {
        return Object.fromEntries(
          Object.entries(value).map(([key, child]) => [
            key,
            walk(
              child,
              rest.filter((path) => path[0] === key).map((path) => path.slice(1)),
            ),
          ]),
        );
      }
      return value;
    };
    return { header: walk(record, paths), tuples };
  }

  const tupleText = fc.oneof(fc.constant('1714568400,10.0.1.10,10.0.2.20,40000,443,T,O,A,C,10,5000,8,4000'), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
  const tupleElement = fc.oneof({ weight: 6, arbitrary: tupleText }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
  const tupleArray = fc.oneof({ weight: 8, arbitrary: fc.array(tupleElement, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
  const nsgRecord = fc.record(
    {
      category: fc.constant('NetworkSecurityGroupFlowEvent'),
      properties: fc.record({
        Version: fc.constantFrom(1, 2),
        flows: fc.array(fc.record({ rule: fc.string({ maxLength: 5 }), flows: fc.array(fc.record({ mac: fc.string({ maxLength: 4 }), flowTuples: tupleArray }), { maxLength: 3 }) }), { maxLength: 3 }),
      }),
      // The other layout's arrays, and look-alikes off every path, stay in the record.
      flowRecords: fc.option(fc.record({ flows: fc.array(fc.record({ flowGroups: fc.array(fc.record({ flowTuples: tupleArray }), { maxLength: 2 }) }), { maxLength: 2 }) }), { nil: undefined }),
      flowTuples: fc.option(tupleArray, { nil: undefined }),
    },
    { requiredKeys: ['category', 'properties'] },
  );

  it('takes the elements of arrays at the tuple paths apart, in document order, and leaves the rest of each record as it was', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 5, arbitrary: nsgRecord }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 4 }),
        fc.constantFrom(undefined, 2),
        chunking,
        fc.constantFrom([NSG_PATH], [NSG_PATH, VNET_PATH]),
        (records, indent, chunks, paths) => {
          const result = split(Buffer.from(JSON.stringify({ records }, null, indent)), chunks, 1 << 20, paths);
          const expected = records.map((record) => takeApart(JSON.parse(JSON.stringify(record)), paths));
          expect(result.refused).toEqual([]);
          expect(result.records.map((text) => JSON.parse(text) as unknown)).toEqual(expected.map((e) => e.header));
          // Control characters never reach the staged text: such a string keeps its escapes.
          expect(result.tuples).toEqual(expected.map((e) => e.tuples.map(([group, text]) => [group, /[\u0000-\u001f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text])));
          // A probe skips the tokenizing of the tuples it accepts, and changes nothing else.
          const probed = split(Buffer.from(JSON.stringify({ records }, null, indent)), chunks, 1 << 20, paths, widestProbe);
          expect({ ...probed, probed: [] }).toEqual(result);
          for (const text of probed.probed) expect(text).toMatch(/^[A-Za-z0-9.,_]+$/);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a damaged document with flow tuples exactly as without a probe, at the same line', () => {
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from(',:[]{}"\\ 0-.eE+tfnu\n')));
    const damaged = fc.tuple(fc.array(nsgRecord, { minLength: 1, maxLength: 3 }), fc.nat(), byte, fc.constantFrom('cut', 'replace', 'insert')).map(([records, at, byte, how]) => {
      const bytes = Buffer.from(JSON.stringify({ records }, null, 1));
      const position = at % (bytes.length + 1);
      if (how === 'cut') return bytes.subarray(0, position);
      if (how === 'replace' && position < bytes.length) return Buffer.concat([bytes.subarray(0, position), Buffer.from([byte]), bytes.subarray(position + 1)]);
      return Buffer.concat([bytes.subarray(0, position), Buffer.from([byte]), bytes.subarray(position)]);
    });
    let probedTuples = 0;
    fc.assert(
      fc.property(damaged, chunking, (bytes, chunks) => {
        const without = outcome(bytes, chunks, [NSG_PATH]);
        expect(outcome(bytes, chunks, [NSG_PATH], widestProbe)).toEqual(without);
        if (without.ok) probedTuples += split(bytes, chunks, 1 << 20, [NSG_PATH], widestProbe).probed.length;
      }),
      { numRuns: 2000 },
    );
    expect(probedTuples).toBeGreaterThan(100);
  });

  it('refuses a record with a key on the tuple path twice in one object, and decodes escaped keys and tuples', () => {
    const doc =
      '{"records": [{"properties": {"flows": [{"flows": [{"flowTuples": ["a"], "flowTuples": ["b"]}]}]}}, {"prop\\u0065rties": {"flows": [{"flows": [{"flowTuples": ["\\u0031,2", "x\\ty"]}]}]}}]}';
    const result = split(Buffer.from(doc), [], 1 << 20, [NSG_PATH]);
    expect(result.refused).toEqual([
      { index: 1, reason: 'record 1: key "flowTuples" appears twice in one object on the path to its flow tuples', head: '{"properties":{"flows":[{"flows":[{"flowTuples":[],"flowTuples":[]}]}]}}' },
    ]);
    expect(result.records).toEqual(['{"prop\\u0065rties":{"flows":[{"flows":[{"flowTuples":[]}]}]}}']);
    expect(result.tuples).toEqual([
      [
        [1, '1,2'],
        [1, 'x\\ty'],
      ],
    ]);
  });

  it('refuses a record over the limit, naming its compact size (tuples counted), keeps its head, and goes on', () => {
    const big = { tuples: Array.from({ length: 2000 }, (_, i) => `1714568400,10.0.0.${i % 250},10.0.1.1,40000,443,T,O,A`) };
    const text = JSON.stringify({ records: [{ a: 1 }, big, { b: 2 }] }, null, 2);
    const bytes = Buffer.byteLength(JSON.stringify(big));
    for (const paths of [[], [['tuples']]]) {
      const result = split(Buffer.from(text), [1000, 3000, 7], 64 * 1024, paths);
      expect(result.records).toEqual(['{"a":1}', '{"b":2}']);
      expect(result.tuples).toEqual([[], []]);
      const head = paths.length === 0 ? JSON.stringify(big).slice(0, OVERSIZED_HEAD_BYTES) : '{"tuples":[';
      expect(result.refused).toEqual([{ index: 2, reason: `record 2 is ${bytes} bytes, longer than the limit of ${64 * 1024}`, head }]);
    }
  });
});
