import type { TupleTyper } from '../staging/stage-json-records.ts';

/**
 * The plain Azure flow tuples, typed while staging (TupleTyper, lib/staging/stage-json-records.ts):
 * the common case, where every field is in the one form that the normalize models
 * (sql/normalize/azure_*__records.sql) read without doubt and accept. Each form is narrower than
 * what the models accept, never wider: a tuple with a field they would also read in another way
 * ('0443', '+5', an IPv6 address, a 19-digit counter) or refuse is left to their SQL path.
 * Whether the field count is the record's version's (NSG) and the tuple's group exists is the
 * model's to check: staging hands on a record's tuples before the record.
 */
export type FieldForm =
  /** Decimal digits without a leading zero, from `min` to `max` (at most 13 digits). */
  | { decimal: [min: number, max: number]; type: 'BIGINT' | 'INTEGER' }
  /** Four decimal octets 0-255 without leading zeros: ip_canonical gives such text back as it is. */
  | 'ipv4'
  /** One of these letters. */
  | { letters: string }
  /** Empty (B rows: 0 in the model), or decimal digits without a leading zero, at most 18 (a BIGINT). */
  | 'counter'
  /** Letters, digits and '_', or empty (VNet's encryption: 'X', 'NX', 'NX_HW_NOT_SUPPORTED'). */
  | 'word';

const DECIMAL = 0;
const IPV4 = 1;
const LETTER = 2;
const COUNTER = 3;
const WORD = 4;
const COMMA = 0x2c;

/**
 * The plain tuples of one format: its `fields` in order, or only the first `fieldCounts` of them
 * (NSG version 1 has eight of version 2's thirteen), each in its form.
 */
export class PlainTupleForm implements TupleTyper {
  readonly columns: readonly (readonly [name: string, type: string])[];
  private readonly kinds: Uint8Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  /** Per field, a bit per accepted letter (A-Z). */
  private readonly letters: Uint32Array;
  /** By field count: whether a tuple of that many fields may be plain. */
  private readonly counts: Uint8Array;

  constructor(
    readonly fields: readonly (readonly [name: string, form: FieldForm])[],
    readonly fieldCounts: readonly number[],
  ) {
    this.columns = fields.map(([name, form]) => [name, typeof form === 'object' && 'type' in form ? form.type : form === 'counter' ? 'BIGINT' : 'VARCHAR']);
    this.kinds = new Uint8Array(fields.length);
    this.min = new Float64Array(fields.length);
    this.max = new Float64Array(fields.length);
    this.letters = new Uint32Array(fields.length);
    fields.forEach(([, form], index) => {
      if (form === 'ipv4') this.kinds[index] = IPV4;
      else if (form === 'counter') this.kinds[index] = COUNTER;
      else if (form === 'word') this.kinds[index] = WORD;
      else if ('letters' in form) {
        this.kinds[index] = LETTER;
        for (const letter of form.letters) this.letters[index]! |= 1 << (letter.charCodeAt(0) - 65);
      } else {
        this.kinds[index] = DECIMAL;
        [this.min[index], this.max[index]] = form.decimal;
      }
    });
    this.counts = new Uint8Array(fields.length + 1);
    for (const count of fieldCounts) this.counts[count] = 1;
  }

  plainFields(text: Buffer, from: number, to: number): number {
    // One pass: each field's bytes are read once, by the loop of its form, up to its comma.
    const kinds = this.kinds;
    let at = from;
    for (let field = 0; field < kinds.length; field++) {
      const start = at;
      switch (kinds[field]) {
        case DECIMAL:
        case COUNTER: {
          let value = 0;
          for (; at < to; at++) {
            const digit = text[at]! - 48;
            if (digit < 0 || digit > 9) break;
            value = value * 10 + digit;
          }
          const digits = at - start;
          if (digits > 1 && text[start] === 48) return 0;
          if (kinds[field] === COUNTER ? digits > 18 : digits === 0 || digits > 13 || value < this.min[field]! || value > this.max[field]!) return 0;
          break;
        }
        case IPV4: {
          // Four octets 0-255 without leading zeros: ip_canonical gives such text back as it is.
          for (let octets = 1; ; octets++) {
            const octetStart = at;
            let octet = 0;
            for (; at < to && at - octetStart < 4; at++) {
              const digit = text[at]! - 48;
              if (digit < 0 || digit > 9) break;
              octet = octet * 10 + digit;
            }
            const digits = at - octetStart;
            if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text[octetStart] === 48)) return 0;
            if (octets === 4) break;
            if (at === to || text[at] !== 0x2e) return 0;
            at++;
          }
          break;
        }
        case LETTER: {
          const letter = at < to ? text[at]! - 65 : -1;
          if (letter < 0 || letter >= 26 || (this.letters[field]! & (1 << letter)) === 0) return 0;
          at++;
          break;
        }
        default:
          for (; at < to; at++) {
            const byte = text[at]!;
            if (!((byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte === 95)) break;
          }
      }
      // The field must end here: at the tuple's end or at a comma.
      if (at === to) return this.counts[field + 1] === 1 ? field + 1 : 0;
      if (text[at] !== COMMA) return 0;
      at++;
    }
    return 0;
  }
}

const PORT: FieldForm = { decimal: [0, 65535], type: 'INTEGER' };
const ENDPOINTS = [
  ['plain_src_ip', 'ipv4'],
  ['plain_dst_ip', 'ipv4'],
  ['plain_src_port', PORT],
  ['plain_dst_port', PORT],
] as const;
const COUNTERS = [
  ['plain_packets', 'counter'],
  ['plain_bytes', 'counter'],
  ['plain_reverse_packets', 'counter'],
  ['plain_reverse_bytes', 'counter'],
] as const;

/**
 * NSG tuples, version 1 (8 fields) and 2 (13): time in Unix seconds (2000-2100), the endpoints,
 * protocol T/U, direction I/O, decision A/D; version 2's flow state B/C/E/D and counters.
 */
export const NSG_PLAIN_TUPLES = new PlainTupleForm(
  [
    ['plain_time', { decimal: [946684800, 4102444800], type: 'BIGINT' }],
    ...ENDPOINTS,
    ['plain_protocol', { letters: 'TU' }],
    ['plain_direction', { letters: 'IO' }],
    ['plain_decision', { letters: 'AD' }],
    ['plain_flow_state', { letters: 'BCED' }],
    ...COUNTERS,
  ],
  [8, 13],
);

/**
 * VNet tuples (13 fields): time in Unix milliseconds (2000-2100), the endpoints, an IANA protocol
 * number, direction I/O, flow state B/C/E/D, encryption, counters.
 */
export const VNET_PLAIN_TUPLES = new PlainTupleForm(
  [
    ['plain_time', { decimal: [946684800000, 4102444800000], type: 'BIGINT' }],
    ...ENDPOINTS,
    ['plain_protocol', { decimal: [0, 255], type: 'INTEGER' }],
    ['plain_direction', { letters: 'IO' }],
    ['plain_flow_state', { letters: 'BCED' }],
    ['plain_encryption', 'word'],
    ...COUNTERS,
  ],
  [13],
);
