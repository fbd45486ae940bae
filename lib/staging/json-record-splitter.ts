import { isUtf8 } from 'node:buffer';
import { ObjectUnreadableError } from './stage-lines.ts';

/**
 * What the splitter hands on, in document order. Record indexes are 1-based. A record's tuples
 * come first, then the record itself or its refusal: the tuples of a refused record are void.
 */
export interface JsonRecordSink {
  /**
   * A flow tuple of record `index`: an element of an array at one of the tuple paths, as text
   * (a string's value; any other value as its compact JSON), bytes `from` to `to` of `text`,
   * valid only during the call. `group` counts the record's tuple arrays, 1-based. `probed` is
   * the TupleProbe's result for these bytes when it accepted them, else 0.
   */
  tuple(index: number, group: number, text: Buffer, from: number, to: number, probed: number): void;
  /** A record within the limits: its compact JSON text, tuples taken out (`[]`), in pieces that may share memory with the chunk fed. */
  record(index: number, pieces: readonly Buffer[]): void;
  /** A record refused whole (too large, or ambiguous where its tuples are): why, and the start of its compact text. */
  refused(index: number, reason: string, head: Buffer): void;
}

/**
 * The path within a record of an array of flow tuples: object keys, '*' for each element of an
 * array. `['properties', 'flows', '*', 'flows', '*', 'flowTuples']` is Azure NSG's.
 */
export type TuplePath = readonly string[];

/**
 * A check of a tuple string's bytes (between its quotes) before they are tokenized, when the
 * string lies whole in the chunk in hand: a positive result is a promise that every byte is an
 * ASCII letter, digit, '.', ',' or '_' (so no escape, quote or control character is among them),
 * and the tokenizer skips them; 0 leaves them to the tokenizer. The result goes with the tuple.
 */
export type TupleProbe = (text: Buffer, from: number, to: number) => number;

/** Kept of an oversized record, for its quarantine entry. */
export const OVERSIZED_HEAD_BYTES = 4096;
/** Deeper nesting is refused: the container stack would otherwise grow with a hostile document. */
export const MAX_JSON_DEPTH = 10_000;

// What the tokenizer expects next outside a token.
const VALUE = 0;
const VALUE_OR_END = 1; // after '['
const KEY = 2; // after ',' in an object
const KEY_OR_END = 3; // after '{'
const COLON = 4;
const COMMA_OR_END = 5;
const DONE = 6; // the top-level value is complete

// The token being read (a token may span chunks).
const NONE = 0;
const STRING = 1;
const ESCAPE = 2;
const UNICODE = 3;
const NUMBER = 4;
const LITERAL = 5;

// Number grammar states; ZERO, INT, FRAC and EXP_DIGITS may end the number.
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_EXP = 5;
const N_EXP_SIGN = 6;
const N_EXP_DIGITS = 7;

const OBJECT = 0;
const ARRAY = 1;
const RECORDS_KEY = 'records';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Stack length inside a record object: the document object, the records array, the record. */
const RECORD_DEPTH = 3;

// Where the bytes being read go.
const SKIP = 0; // outside records, and between the elements of a tuple array
const TO_RECORD = 1;
const TO_TUPLE = 2;

/**
 * Splits one JSON document of the shape `{"records": [record, …], …}` (Azure's `PT1H.json`) into
 * its records as it streams by, a chunk at a time, so memory holds one chunk and one record, never
 * the document. It validates the whole document as JSON (RFC 8259, UTF-8) on the way, as
 * `JSON.parse` would: a document that is not valid JSON, or is cut off, is refused whole
 * (ObjectUnreadableError naming the line), and no record of it may be used. Each record is handed
 * on as compact JSON (whitespace outside strings dropped; never re-serialised, so its text is the
 * provider's), with the elements of its tuple arrays (`tuplePaths`) taken out and handed on one by
 * one: a normalize model then reads a small record once and the tuples as plain text, instead of
 * parsing every record whole. A record larger than `maxRecordBytes` compact (its tuples counted),
 * or with a key on a tuple path twice in one object (which array would a JSON reader take?), is
 * refused whole.
 */
export class JsonRecordSplitter {
  /** 1-based line of the byte being read. */
  line = 1;
  /** Records seen, handed on or refused. */
  records = 0;

  private expect = VALUE;
  private token = NONE;
  private numberState = N_MINUS;
  private literal = '';
  private literalAt = 0;
  private hexLeft = 0;
  private readonly stack: number[] = [];
  private started = false;
  private carry: Buffer | undefined;
  private atStart = true;

  // The key being read, when it matters: a key of the document object ("records"), or of an
  // object on a tuple path.
  private keyBytes: Buffer[] = [];
  private keyLength = -1;
  private keyIsRecords = false;
  private recordsSeen = false;
  /** Stack length inside the records array while in it, else -1. */
  private recordsDepth = -1;

  // Tuple paths: for each container inside a record, the paths (bits) it lies on; for the value
  // after a key, the paths the key continues; per object on a path, the path keys it has had.
  private readonly pathMasks: number[] = [];
  private readonly pathKeys: (Set<string> | undefined)[] = [];
  private keyMask = 0;
  private readonly allPaths: number;

  // The bytes not yet handed to the target start at `segment` in the chunk being read.
  private target = SKIP;
  private segment = 0;
  private chunkPieces = 0;
  // The record being read.
  private pieces: Buffer[] = [];
  private recordBytes = 0;
  private head: Buffer | undefined;
  private refusal: string | undefined;
  private group = 0;
  /** Stack length inside the tuple array being read, else -1. */
  private tupleDepth = -1;
  // The tuple being read: one span of a chunk while it lies in one (the common case, no copy),
  // else pieces.
  private tupleChunk: Buffer | undefined;
  private tupleFrom = 0;
  private tupleTo = 0;
  private tuplePieces: Buffer[] = [];
  private tupleIsString = false;
  private tupleEscaped = false;
  private tupleProbed = 0;

  constructor(
    private readonly maxRecordBytes: number,
    private readonly sink: JsonRecordSink,
    private readonly tuplePaths: readonly TuplePath[] = [],
    private readonly probe?: TupleProbe,
  ) {
    if (tuplePaths.length > 30) throw new Error('at most 30 tuple paths');
    this.allPaths = (1 << tuplePaths.length) - 1;
  }

  feed(input: Buffer): void {
    let chunk = this.carry ? Buffer.concat([this.carry, input]) : input;
    this.carry = undefined;
    if (this.atStart) {
      // A byte order mark is not part of the JSON text (the first chunk can be shorter than it).
      if (chunk.length < BOM.length && BOM.subarray(0, chunk.length).equals(chunk)) {
        this.carry = Buffer.from(chunk);
        return;
      }
      if (chunk.subarray(0, BOM.length).equals(BOM)) chunk = chunk.subarray(BOM.length);
      this.atStart = false;
    }
    // A character cut by the chunk boundary is checked with the next chunk.
    const tail = incompleteUtf8Tail(chunk);
    if (tail > 0) {
      this.carry = Buffer.from(chunk.subarray(chunk.length - tail));
      chunk = chunk.subarray(0, chunk.length - tail);
    }
    this.checkUtf8(chunk);
    this.scan(chunk);
  }

  /** After the last chunk: throws unless the document was complete or empty (nothing but whitespace). */
  end(): void {
    if (this.carry) {
      const rest = this.carry;
      this.carry = undefined;
      this.atStart = false;
      this.checkUtf8(rest);
      this.scan(rest);
    }
    if (!this.started) return;
    if (this.expect !== DONE) throw new ObjectUnreadableError(`JSON document is cut off at line ${this.line}`);
    if (!this.recordsSeen) throw notFlowLogDocument();
  }

  private checkUtf8(chunk: Buffer): void {
    if (!isUtf8(chunk)) throw new ObjectUnreadableError(`line ${this.line - 1 + firstInvalidUtf8Line(chunk)} holds bytes that are not valid UTF-8`);
  }

  private scan(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    this.segment = 0;
    this.chunkPieces = this.pieces.length;
    while (i < n) {
      const token = this.token;
      if (token === STRING) {
        // The hot path: most of a flow log document is the text of its tuples.
        const from = i;
        let c = 0;
        while (i < n) {
          c = chunk[i]!;
          if (c === 0x22 || c === 0x5c || c < 0x20) break;
          i++;
        }
        if (this.keyLength >= 0) this.addKeyBytes(chunk, from, i);
        if (i === n) break;
        if (c === 0x22) {
          i++;
          this.token = NONE;
          if (this.expect === KEY || this.expect === KEY_OR_END) this.endKey();
          else this.valueEnds(chunk, i);
        } else if (c === 0x5c) {
          if (this.keyLength >= 0) this.addKeyBytes(chunk, i, i + 1);
          if (this.target === TO_TUPLE && this.tupleIsString) this.tupleEscaped = true;
          i++;
          this.token = ESCAPE;
        } else {
          throw this.invalid(`control character ${byteName(c)} in a string`);
        }
        continue;
      }
      const c = chunk[i]!;
      if (token === ESCAPE) {
        if (this.keyLength >= 0) this.addKeyBytes(chunk, i, i + 1);
        if (c === 0x75) {
          this.token = UNICODE;
          this.hexLeft = 4;
        } else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) {
          this.token = STRING;
        } else {
          throw this.invalid(`bad escape sequence \\${String.fromCharCode(c)} in a string`);
        }
        i++;
        continue;
      }
      if (token === UNICODE) {
        if (!isHexDigit(c)) throw this.invalid(`bad \\u escape in a string (${describe(c)})`);
        if (this.keyLength >= 0) this.addKeyBytes(chunk, i, i + 1);
        if (--this.hexLeft === 0) this.token = STRING;
        i++;
        continue;
      }
      if (token === NUMBER) {
        if (this.numberContinues(c)) {
          i++;
          continue;
        }
        const state = this.numberState;
        if (state !== N_ZERO && state !== N_INT && state !== N_FRAC && state !== N_EXP_DIGITS) throw this.invalid(`incomplete number before ${describe(c)}`);
        this.token = NONE;
        // The byte after the number is read again below, as the next token.
        this.valueEnds(chunk, i);
      } else if (token === LITERAL) {
        if (c !== this.literal.charCodeAt(this.literalAt)) throw this.invalid(`${describe(c)} in what should be "${this.literal}"`);
        i++;
        if (++this.literalAt === this.literal.length) {
          this.token = NONE;
          this.valueEnds(chunk, i);
        }
        continue;
      }

      // Between tokens.
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        if (c === 0x0a) this.line++;
        if (this.recordsDepth > 0 && this.stack.length >= this.recordsDepth) {
          // Compact text: whitespace between tokens is dropped (and not counted).
          this.flush(chunk, i);
          this.segment = i + 1;
        }
        i++;
        continue;
      }
      this.started = true;
      switch (c) {
        case 0x22: // "
          if (this.expect === KEY || this.expect === KEY_OR_END) {
            this.keyBytes = [];
            const top = this.stack.length - 1;
            this.keyLength = top === 0 || (this.pathMasks[top] ?? 0) !== 0 ? 0 : -1;
          } else {
            this.valueStarts(chunk, c, i);
            this.keyLength = -1;
            if (this.probe && this.stack.length === this.tupleDepth) {
              // A tuple string (not one inside a tuple of another type) that the probe accepts
              // holds nothing the string scan would stop at: on to its closing quote.
              const quote = chunk.indexOf(0x22, i + 1);
              this.tupleProbed = quote > 0 ? this.probe(chunk, i + 1, quote) : 0;
              if (this.tupleProbed > 0) {
                this.token = STRING;
                i = quote;
                continue;
              }
            }
          }
          this.token = STRING;
          i++;
          continue;
        case 0x7b: // {
        case 0x5b: {
          // [
          const mask = this.valueStarts(chunk, c, i);
          if (this.stack.length >= MAX_JSON_DEPTH) throw new ObjectUnreadableError(`JSON document nests deeper than ${MAX_JSON_DEPTH} levels at line ${this.line}`);
          if (c === 0x5b && this.stack.length === 1 && this.keyIsRecords) this.recordsDepth = 2;
          this.stack.push(c === 0x7b ? OBJECT : ARRAY);
          this.expect = c === 0x7b ? KEY_OR_END : VALUE_OR_END;
          i++;
          if (this.recordsDepth > 0 && this.stack.length >= RECORD_DEPTH && this.tupleDepth < 0) this.opened(chunk, c, i, mask);
          continue;
        }
        case 0x7d: // }
        case 0x5d: {
          // ]
          const kind = c === 0x7d ? OBJECT : ARRAY;
          const top = this.stack[this.stack.length - 1];
          const allowed = this.expect === COMMA_OR_END || this.expect === (kind === OBJECT ? KEY_OR_END : VALUE_OR_END);
          if (top !== kind || !allowed) throw this.invalid(`unexpected ${describe(c)}`);
          if (this.stack.length === this.tupleDepth) {
            // The tuple array ends: its brackets stay in the record, its elements do not.
            this.flush(chunk, i);
            this.tupleDepth = -1;
            this.target = TO_RECORD;
          }
          this.pathMasks.length = this.stack.length - 1;
          this.pathKeys.length = this.stack.length - 1;
          this.stack.pop();
          if (this.recordsDepth === 2 && this.stack.length === 1) this.recordsDepth = -1;
          i++;
          this.valueEnds(chunk, i);
          continue;
        }
        case 0x2c: // ,
          if (this.expect !== COMMA_OR_END) throw this.invalid(`unexpected ${describe(c)}`);
          this.expect = this.stack[this.stack.length - 1] === OBJECT ? KEY : VALUE;
          i++;
          continue;
        case 0x3a: // :
          if (this.expect !== COLON) throw this.invalid(`unexpected ${describe(c)}`);
          this.expect = VALUE;
          i++;
          continue;
        default:
          if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            this.valueStarts(chunk, c, i);
            this.token = NUMBER;
            this.numberState = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
          } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
            this.valueStarts(chunk, c, i);
            this.token = LITERAL;
            this.literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
            this.literalAt = 1;
          } else {
            throw this.invalid(`unexpected ${describe(c)}`);
          }
          i++;
          continue;
      }
    }
    // The chunk may be reused once this call returns: copy what is kept of it.
    this.flush(chunk, n);
    for (let k = this.chunkPieces; k < this.pieces.length; k++) this.pieces[k] = Buffer.from(this.pieces[k]!);
    if (this.tupleChunk) this.spanToPieces();
    this.tuplePieces = this.tuplePieces.map((piece) => Buffer.from(piece));
  }

  /**
   * A value begins at `i`: checks that one may, starts a record or a tuple, and returns the
   * tuple paths the value lies on (inside a record).
   */
  private valueStarts(chunk: Buffer, c: number, i: number): number {
    if (this.expect !== VALUE && this.expect !== VALUE_OR_END) throw this.invalid(`unexpected ${describe(c)}`);
    const depth = this.stack.length;
    if (depth === this.tupleDepth) {
      // An element of a tuple array: a tuple, kept apart from the record text.
      this.flush(chunk, i);
      this.target = TO_TUPLE;
      this.tupleIsString = c === 0x22;
      this.tupleEscaped = false;
      this.tupleChunk = undefined;
      this.tuplePieces = [];
      if (this.tupleIsString) {
        // The quotes are counted in the record's size, not kept.
        this.recordBytes++;
        this.segment = i + 1;
      }
      return 0;
    }
    if (depth === 0 && c !== 0x7b) {
      // Valid JSON perhaps, but not a document of records.
      throw notFlowLogDocument();
    }
    if (depth === 1 && this.keyIsRecords) {
      if (c !== 0x5b) throw notFlowLogDocument();
      if (this.recordsSeen) throw new ObjectUnreadableError('not a flow log document: "records" appears more than once');
      this.recordsSeen = true;
    }
    if (depth === this.recordsDepth) {
      this.records++;
      this.target = TO_RECORD;
      this.segment = i;
      this.chunkPieces = 0;
      this.pieces = [];
      this.recordBytes = 0;
      this.head = undefined;
      this.refusal = undefined;
      this.group = 0;
      return this.allPaths;
    }
    if (depth < RECORD_DEPTH || this.recordsDepth < 0) return 0;
    const parent = this.pathMasks[depth - 1] ?? 0;
    if (parent === 0) return 0;
    if (this.stack[depth - 1] === OBJECT) return this.keyMask;
    // An element of an array on a path: the paths that take every element here.
    return this.pathsWith(parent, depth - RECORD_DEPTH, '*');
  }

  /** A container inside a record opened just before `i`, on the tuple paths `mask`. */
  private opened(chunk: Buffer, c: number, i: number, mask: number): void {
    const top = this.stack.length - 1;
    this.pathMasks[top] = mask;
    if (mask === 0) return;
    this.pathKeys[top] = undefined;
    const level = top - (RECORD_DEPTH - 1);
    if (c !== 0x5b || !this.tuplePaths.some((path, bit) => (mask & (1 << bit)) !== 0 && path.length === level)) return;
    // A tuple array: the record keeps `[` and `]`, the tuples go apart.
    this.flush(chunk, i);
    this.target = SKIP;
    this.tupleDepth = this.stack.length;
    this.pathMasks[top] = 0;
    this.group++;
  }

  /** A value ended just before `i`: hands on a tuple or a record that ends here. */
  private valueEnds(chunk: Buffer, i: number): void {
    this.expect = this.stack.length === 0 ? DONE : COMMA_OR_END;
    if (this.target === TO_TUPLE && this.stack.length === this.tupleDepth) {
      this.flush(chunk, this.tupleIsString ? i - 1 : i);
      if (this.tupleIsString) this.recordBytes++;
      this.target = SKIP;
      this.segment = i;
      this.handOnTuple();
      return;
    }
    if (this.target !== TO_RECORD || this.stack.length !== this.recordsDepth) return;
    this.flush(chunk, i);
    this.target = SKIP;
    if (this.refusal !== undefined || this.head !== undefined) {
      const head = this.head ?? Buffer.concat(this.pieces).subarray(0, OVERSIZED_HEAD_BYTES);
      this.sink.refused(this.records, this.refusal ?? `record ${this.records} is ${this.recordBytes} bytes, longer than the limit of ${this.maxRecordBytes}`, head);
    } else {
      this.sink.record(this.records, this.pieces);
    }
    this.pieces = [];
    this.head = undefined;
  }

  private handOnTuple(): void {
    const probed = this.tupleProbed;
    this.tupleProbed = 0;
    if (this.head !== undefined || this.refusal !== undefined) {
      this.tupleChunk = undefined;
      this.tuplePieces = [];
      return;
    }
    if (this.tupleChunk && !this.tupleEscaped) {
      const chunk = this.tupleChunk;
      this.tupleChunk = undefined;
      this.sink.tuple(this.records, this.group, chunk, this.tupleFrom, this.tupleTo, probed);
      return;
    }
    if (this.tupleChunk) this.spanToPieces();
    let text = Buffer.concat(this.tuplePieces);
    this.tuplePieces = [];
    if (this.tupleEscaped) {
      // The string was validated as JSON, so JSON.parse only decodes its escapes. A tuple that
      // decodes to control characters keeps its escapes (a staged line holds none).
      const decoded = JSON.parse(`"${text.toString('utf8')}"`) as string;
      if (!/[\u0000-\u001f]/.test(decoded)) text = Buffer.from(decoded);
    }
    this.sink.tuple(this.records, this.group, text, 0, text.length, 0);
  }

  private spanToPieces(): void {
    this.tuplePieces.push(this.tupleChunk!.subarray(this.tupleFrom, this.tupleTo));
    this.tupleChunk = undefined;
  }

  /** Hands the bytes from `segment` to `to` to the target, and counts them in the record's size. */
  private flush(chunk: Buffer, to: number): void {
    const from = this.segment;
    this.segment = to;
    if (to <= from || (this.target === SKIP && this.tupleDepth < 0)) return;
    this.recordBytes += to - from;
    if (this.target === SKIP || this.head !== undefined) return;
    if (this.target === TO_TUPLE) {
      if (this.tupleChunk === undefined && this.tuplePieces.length === 0) {
        this.tupleChunk = chunk;
        this.tupleFrom = from;
        this.tupleTo = to;
      } else {
        if (this.tupleChunk) this.spanToPieces();
        this.tuplePieces.push(chunk.subarray(from, to));
      }
    } else {
      this.pieces.push(chunk.subarray(from, to));
    }
    if (this.recordBytes > this.maxRecordBytes) {
      // Only the head is kept of a record that will be refused; its tuples are void.
      this.head = Buffer.from(Buffer.concat(this.pieces).subarray(0, OVERSIZED_HEAD_BYTES));
      this.pieces = [];
      this.tupleChunk = undefined;
      this.tuplePieces = [];
    }
  }

  private numberContinues(c: number): boolean {
    const digit = c >= 0x30 && c <= 0x39;
    switch (this.numberState) {
      case N_MINUS:
        if (!digit) return false;
        this.numberState = c === 0x30 ? N_ZERO : N_INT;
        return true;
      case N_ZERO:
      case N_INT:
        if (digit && this.numberState === N_INT) return true;
        if (c === 0x2e) this.numberState = N_DOT;
        else if (c === 0x65 || c === 0x45) this.numberState = N_EXP;
        else return false;
        return true;
      case N_DOT:
        if (!digit) return false;
        this.numberState = N_FRAC;
        return true;
      case N_FRAC:
        if (digit) return true;
        if (c !== 0x65 && c !== 0x45) return false;
        this.numberState = N_EXP;
        return true;
      case N_EXP:
        if (c === 0x2b || c === 0x2d) this.numberState = N_EXP_SIGN;
        else if (digit) this.numberState = N_EXP_DIGITS;
        else return false;
        return true;
      case N_EXP_SIGN:
        if (!digit) return false;
        this.numberState = N_EXP_DIGITS;
        return true;
      default:
        return digit;
    }
  }

  private addKeyBytes(chunk: Buffer, from: number, to: number): void {
    // Keys that matter are short ("records", even fully escaped, is 42 bytes): a longer one is none of them.
    this.keyLength += to - from;
    if (this.keyLength > 256) this.keyLength = -1;
    else this.keyBytes.push(Buffer.from(chunk.subarray(from, to)));
  }

  private endKey(): void {
    this.expect = COLON;
    this.keyMask = 0;
    if (this.keyLength < 0) return;
    const raw = Buffer.concat(this.keyBytes).toString('utf8');
    this.keyLength = -1;
    // The key was validated as a JSON string, so JSON.parse only decodes its escapes.
    const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    const top = this.stack.length - 1;
    if (top === 0) {
      this.keyIsRecords = key === RECORDS_KEY;
      return;
    }
    this.keyMask = this.pathsWith(this.pathMasks[top] ?? 0, top - (RECORD_DEPTH - 1), key);
    if (this.keyMask === 0) return;
    const seen = (this.pathKeys[top] ??= new Set());
    if (seen.has(key) && this.refusal === undefined) this.refusal = `record ${this.records}: key "${key}" appears twice in one object on the path to its flow tuples`;
    seen.add(key);
  }

  /** Of the paths in `mask`, those whose element `level` is `step`. */
  private pathsWith(mask: number, level: number, step: string): number {
    let result = 0;
    for (let bit = 0; bit < this.tuplePaths.length; bit++) {
      if ((mask & (1 << bit)) !== 0 && this.tuplePaths[bit]![level] === step) result |= 1 << bit;
    }
    return result;
  }

  private invalid(what: string): ObjectUnreadableError {
    return new ObjectUnreadableError(`JSON document is not valid JSON at line ${this.line}: ${what}`);
  }
}

function notFlowLogDocument(): ObjectUnreadableError {
  return new ObjectUnreadableError('not a flow log document: expected a JSON object with a "records" array');
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function byteName(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`;
}

function describe(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `byte ${byteName(c)}`;
}

/** Bytes at the end of `chunk` that start a UTF-8 character the chunk does not complete. */
function incompleteUtf8Tail(chunk: Buffer): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    if (byte < 0xc0) return 0;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return length > back ? back : 0;
  }
  return 0;
}

/** The 1-based line holding the first byte sequence that is not UTF-8 (lines are checked one by one). */
export function firstInvalidUtf8Line(buffer: Buffer): number {
  let line = 1;
  let start = 0;
  while (start <= buffer.length) {
    const newline = buffer.indexOf(10, start);
    const end = newline < 0 ? buffer.length : newline;
    if (!isUtf8(buffer.subarray(start, end))) return line;
    if (newline < 0) break;
    start = newline + 1;
    line++;
  }
  return line;
}
