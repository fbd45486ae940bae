/**
 * An append-only byte buffer for staged output, sized up front so that the per-line path rarely
 * allocates. Every write checks the room and grows the buffer (doubling): Buffer.copy would
 * otherwise cut a line short without a word.
 */
export class ByteBuffer {
  private buffer: Buffer;
  /** Bytes written: where the next byte goes. */
  length = 0;

  constructor(capacity = 1 << 16) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  writeByte(byte: number): void {
    this.ensure(1);
    this.buffer[this.length++] = byte;
  }

  /** A non-negative integer in decimal, zero-padded to `minDigits`. */
  writeDecimal(value: number, minDigits = 1): void {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    digits = Math.max(digits, minDigits);
    this.ensure(digits);
    let rest = value;
    for (let position = this.length + digits - 1; position >= this.length; position--) {
      this.buffer[position] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.length += digits;
  }

  copyFrom(source: Buffer, from: number, to: number): void {
    this.ensure(to - from);
    if (to - from > 32) {
      this.length += source.copy(this.buffer, this.length, from, to);
      return;
    }
    // A byte loop for short spans: Buffer.copy costs more per call than it saves.
    const buffer = this.buffer;
    let length = this.length;
    for (let index = from; index < to; index++) buffer[length++] = source[index]!;
    this.length = length;
  }

  writeAscii(text: string): void {
    this.ensure(text.length);
    this.length += this.buffer.write(text, this.length, 'latin1');
  }

  /** The bytes written, sharing this buffer's memory (for a buffer used once). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** A copy of the bytes written, and the buffer empty again (for a buffer reused). */
  take(): Buffer {
    const bytes = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return bytes;
  }

  /** Drops what was written past `length` (a row its typer gave up on; 0 empties the buffer). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
