/**
 * SHA-1 (FIPS 180-4) of a message short enough to fit one 64-byte block with its padding (at
 * most 55 bytes), written as base64 text straight into a caller's bytes. A Community ID input is
 * at most 40 bytes; for it, node:crypto's one-shot hash costs more in the call into C++ and the
 * string it returns than in the hashing, once per flow. Int32 arithmetic throughout, and the
 * padded block is module-level: nothing is allocated per call (calls are synchronous).
 */
export const SHA1_SINGLE_BLOCK_MAX_BYTES = 55;

/** Characters of the base64 text of a 20-byte digest, its '=' included. */
export const SHA1_BASE64_LENGTH = 28;

const BLOCK = new Uint8Array(64);
const BLOCK_VIEW = new DataView(BLOCK.buffer);
const H = new Int32Array(5);
/** BLOCK is zero from here to byte 62: padding rewrites only what the last message left. */
let dirtyEnd = 0;
const BASE64 = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));

/** The 20-byte SHA-1 digest of `message[0, length)` (length <= 55) into `out` at `offset`. */
export function sha1SingleBlock(message: Uint8Array, length: number, out: Uint8Array, offset = 0): void {
  compress(message, length);
  for (let index = 0; index < 20; index++) out[offset + index] = (H[index >>> 2]! >>> ((3 - (index & 3)) * 8)) & 0xff;
}

/**
 * The base64 text (28 ASCII bytes, as node's digest('base64')) of the SHA-1 of
 * `message[0, length)` (length <= 55) into `out` at `offset`.
 */
export function sha1SingleBlockBase64(message: Uint8Array, length: number, out: Uint8Array, offset = 0): void {
  compress(message, length);
  const h0 = H[0]!;
  const h1 = H[1]!;
  const h2 = H[2]!;
  const h3 = H[3]!;
  const h4 = H[4]!;
  // Digest bytes 0-17 as six groups of three (24 bits, four characters), read across the words.
  base64Of24(h0 >>> 8, out, offset);
  base64Of24(((h0 & 0xff) << 16) | (h1 >>> 16), out, offset + 4);
  base64Of24(((h1 & 0xffff) << 8) | (h2 >>> 24), out, offset + 8);
  base64Of24(h2 & 0xffffff, out, offset + 12);
  base64Of24(h3 >>> 8, out, offset + 16);
  base64Of24(((h3 & 0xff) << 16) | (h4 >>> 16), out, offset + 20);
  // Bytes 18-19: 16 bits make three characters, and '=' for the missing byte.
  base64Of24((h4 & 0xffff) << 8, out, offset + 24);
  out[offset + 27] = 0x3d;
}

function base64Of24(bits: number, out: Uint8Array, at: number): void {
  out[at] = BASE64[bits >>> 18]!;
  out[at + 1] = BASE64[(bits >>> 12) & 63]!;
  out[at + 2] = BASE64[(bits >>> 6) & 63]!;
  out[at + 3] = BASE64[bits & 63]!;
}

/** Pads `message[0, length)` into BLOCK: the message, 0x80, zeros, and its length in bits in the last 8 bytes. */
function pad(message: Uint8Array, length: number): void {
  if (!(length >= 0 && length <= SHA1_SINGLE_BLOCK_MAX_BYTES)) throw new RangeError(`sha1SingleBlock: ${length} bytes do not fit one block (at most ${SHA1_SINGLE_BLOCK_MAX_BYTES})`);
  const block = BLOCK;
  for (let index = 0; index < length; index++) block[index] = message[index]!;
  block[length] = 0x80;
  for (let index = length + 1; index < dirtyEnd; index++) block[index] = 0;
  dirtyEnd = length + 1;
  // At most 440 bits: the two last bytes hold it.
  block[62] = length >>> 5;
  block[63] = (length << 3) & 0xff;
}

/**
 * Hashes `message[0, length)` into H. The 80 rounds are written out and the message schedule is
 * kept in 16 local variables: loops over a schedule array measured about three times slower
 * (100 vs 290 ns a block on this machine's V8).
 */
function compress(message: Uint8Array, length: number): void {
  pad(message, length);
  const view = BLOCK_VIEW;
  let w0 = view.getInt32(0);
  let w1 = view.getInt32(4);
  let w2 = view.getInt32(8);
  let w3 = view.getInt32(12);
  let w4 = view.getInt32(16);
  let w5 = view.getInt32(20);
  let w6 = view.getInt32(24);
  let w7 = view.getInt32(28);
  let w8 = view.getInt32(32);
  let w9 = view.getInt32(36);
  let w10 = view.getInt32(40);
  let w11 = view.getInt32(44);
  let w12 = view.getInt32(48);
  let w13 = view.getInt32(52);
  let w14 = view.getInt32(56);
  let w15 = view.getInt32(60);
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  let e = 0xc3d2e1f0 | 0;
  let t: number;
  // Each line is one round: from round 16 on, it first replaces w[i mod 16] by the next word of
  // the schedule, rotl1(w[i-3] ^ w[i-8] ^ w[i-14] ^ w[i-16]); then the round, whose five state
  // words rotate by name instead of by copies.
  // Rounds 0-19: Ch(b, c, d) = (b & c) | (~b & d); 20-39 and 60-79: parity; 40-59: Maj(b, c, d).
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + w0 + 0x5a827999) | 0;
  b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + w1 + 0x5a827999) | 0;
  a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + w2 + 0x5a827999) | 0;
  e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + w3 + 0x5a827999) | 0;
  d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + w4 + 0x5a827999) | 0;
  c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + w5 + 0x5a827999) | 0;
  b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + w6 + 0x5a827999) | 0;
  a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + w7 + 0x5a827999) | 0;
  e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + w8 + 0x5a827999) | 0;
  d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + w9 + 0x5a827999) | 0;
  c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + w10 + 0x5a827999) | 0;
  b = (b << 30) | (b >>> 2);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + w11 + 0x5a827999) | 0;
  a = (a << 30) | (a >>> 2);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + w12 + 0x5a827999) | 0;
  e = (e << 30) | (e >>> 2);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + w13 + 0x5a827999) | 0;
  d = (d << 30) | (d >>> 2);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + w14 + 0x5a827999) | 0;
  c = (c << 30) | (c >>> 2);
  e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + w15 + 0x5a827999) | 0;
  b = (b << 30) | (b >>> 2);
  t = w13 ^ w8 ^ w2 ^ w0;
  w0 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + w0 + 0x5a827999) | 0;
  a = (a << 30) | (a >>> 2);
  t = w14 ^ w9 ^ w3 ^ w1;
  w1 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + w1 + 0x5a827999) | 0;
  e = (e << 30) | (e >>> 2);
  t = w15 ^ w10 ^ w4 ^ w2;
  w2 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + w2 + 0x5a827999) | 0;
  d = (d << 30) | (d >>> 2);
  t = w0 ^ w11 ^ w5 ^ w3;
  w3 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + w3 + 0x5a827999) | 0;
  c = (c << 30) | (c >>> 2);
  t = w1 ^ w12 ^ w6 ^ w4;
  w4 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w4 + 0x6ed9eba1) | 0;
  b = (b << 30) | (b >>> 2);
  t = w2 ^ w13 ^ w7 ^ w5;
  w5 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w5 + 0x6ed9eba1) | 0;
  a = (a << 30) | (a >>> 2);
  t = w3 ^ w14 ^ w8 ^ w6;
  w6 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w6 + 0x6ed9eba1) | 0;
  e = (e << 30) | (e >>> 2);
  t = w4 ^ w15 ^ w9 ^ w7;
  w7 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w7 + 0x6ed9eba1) | 0;
  d = (d << 30) | (d >>> 2);
  t = w5 ^ w0 ^ w10 ^ w8;
  w8 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w8 + 0x6ed9eba1) | 0;
  c = (c << 30) | (c >>> 2);
  t = w6 ^ w1 ^ w11 ^ w9;
  w9 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w9 + 0x6ed9eba1) | 0;
  b = (b << 30) | (b >>> 2);
  t = w7 ^ w2 ^ w12 ^ w10;
  w10 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w10 + 0x6ed9eba1) | 0;
  a = (a << 30) | (a >>> 2);
  t = w8 ^ w3 ^ w13 ^ w11;
  w11 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w11 + 0x6ed9eba1) | 0;
  e = (e << 30) | (e >>> 2);
  t = w9 ^ w4 ^ w14 ^ w12;
  w12 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w12 + 0x6ed9eba1) | 0;
  d = (d << 30) | (d >>> 2);
  t = w10 ^ w5 ^ w15 ^ w13;
  w13 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w13 + 0x6ed9eba1) | 0;
  c = (c << 30) | (c >>> 2);
  t = w11 ^ w6 ^ w0 ^ w14;
  w14 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w14 + 0x6ed9eba1) | 0;
  b = (b << 30) | (b >>> 2);
  t = w12 ^ w7 ^ w1 ^ w15;
  w15 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w15 + 0x6ed9eba1) | 0;
  a = (a << 30) | (a >>> 2);
  t = w13 ^ w8 ^ w2 ^ w0;
  w0 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w0 + 0x6ed9eba1) | 0;
  e = (e << 30) | (e >>> 2);
  t = w14 ^ w9 ^ w3 ^ w1;
  w1 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w1 + 0x6ed9eba1) | 0;
  d = (d << 30) | (d >>> 2);
  t = w15 ^ w10 ^ w4 ^ w2;
  w2 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w2 + 0x6ed9eba1) | 0;
  c = (c << 30) | (c >>> 2);
  t = w0 ^ w11 ^ w5 ^ w3;
  w3 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w3 + 0x6ed9eba1) | 0;
  b = (b << 30) | (b >>> 2);
  t = w1 ^ w12 ^ w6 ^ w4;
  w4 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w4 + 0x6ed9eba1) | 0;
  a = (a << 30) | (a >>> 2);
  t = w2 ^ w13 ^ w7 ^ w5;
  w5 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w5 + 0x6ed9eba1) | 0;
  e = (e << 30) | (e >>> 2);
  t = w3 ^ w14 ^ w8 ^ w6;
  w6 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w6 + 0x6ed9eba1) | 0;
  d = (d << 30) | (d >>> 2);
  t = w4 ^ w15 ^ w9 ^ w7;
  w7 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w7 + 0x6ed9eba1) | 0;
  c = (c << 30) | (c >>> 2);
  t = w5 ^ w0 ^ w10 ^ w8;
  w8 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + w8 + 0x8f1bbcdc) | 0;
  b = (b << 30) | (b >>> 2);
  t = w6 ^ w1 ^ w11 ^ w9;
  w9 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + w9 + 0x8f1bbcdc) | 0;
  a = (a << 30) | (a >>> 2);
  t = w7 ^ w2 ^ w12 ^ w10;
  w10 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + w10 + 0x8f1bbcdc) | 0;
  e = (e << 30) | (e >>> 2);
  t = w8 ^ w3 ^ w13 ^ w11;
  w11 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + w11 + 0x8f1bbcdc) | 0;
  d = (d << 30) | (d >>> 2);
  t = w9 ^ w4 ^ w14 ^ w12;
  w12 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + w12 + 0x8f1bbcdc) | 0;
  c = (c << 30) | (c >>> 2);
  t = w10 ^ w5 ^ w15 ^ w13;
  w13 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + w13 + 0x8f1bbcdc) | 0;
  b = (b << 30) | (b >>> 2);
  t = w11 ^ w6 ^ w0 ^ w14;
  w14 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + w14 + 0x8f1bbcdc) | 0;
  a = (a << 30) | (a >>> 2);
  t = w12 ^ w7 ^ w1 ^ w15;
  w15 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + w15 + 0x8f1bbcdc) | 0;
  e = (e << 30) | (e >>> 2);
  t = w13 ^ w8 ^ w2 ^ w0;
  w0 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + w0 + 0x8f1bbcdc) | 0;
  d = (d << 30) | (d >>> 2);
  t = w14 ^ w9 ^ w3 ^ w1;
  w1 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + w1 + 0x8f1bbcdc) | 0;
  c = (c << 30) | (c >>> 2);
  t = w15 ^ w10 ^ w4 ^ w2;
  w2 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + w2 + 0x8f1bbcdc) | 0;
  b = (b << 30) | (b >>> 2);
  t = w0 ^ w11 ^ w5 ^ w3;
  w3 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + w3 + 0x8f1bbcdc) | 0;
  a = (a << 30) | (a >>> 2);
  t = w1 ^ w12 ^ w6 ^ w4;
  w4 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + w4 + 0x8f1bbcdc) | 0;
  e = (e << 30) | (e >>> 2);
  t = w2 ^ w13 ^ w7 ^ w5;
  w5 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + w5 + 0x8f1bbcdc) | 0;
  d = (d << 30) | (d >>> 2);
  t = w3 ^ w14 ^ w8 ^ w6;
  w6 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + w6 + 0x8f1bbcdc) | 0;
  c = (c << 30) | (c >>> 2);
  t = w4 ^ w15 ^ w9 ^ w7;
  w7 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + w7 + 0x8f1bbcdc) | 0;
  b = (b << 30) | (b >>> 2);
  t = w5 ^ w0 ^ w10 ^ w8;
  w8 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + w8 + 0x8f1bbcdc) | 0;
  a = (a << 30) | (a >>> 2);
  t = w6 ^ w1 ^ w11 ^ w9;
  w9 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + w9 + 0x8f1bbcdc) | 0;
  e = (e << 30) | (e >>> 2);
  t = w7 ^ w2 ^ w12 ^ w10;
  w10 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + w10 + 0x8f1bbcdc) | 0;
  d = (d << 30) | (d >>> 2);
  t = w8 ^ w3 ^ w13 ^ w11;
  w11 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + w11 + 0x8f1bbcdc) | 0;
  c = (c << 30) | (c >>> 2);
  t = w9 ^ w4 ^ w14 ^ w12;
  w12 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w12 + 0xca62c1d6) | 0;
  b = (b << 30) | (b >>> 2);
  t = w10 ^ w5 ^ w15 ^ w13;
  w13 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w13 + 0xca62c1d6) | 0;
  a = (a << 30) | (a >>> 2);
  t = w11 ^ w6 ^ w0 ^ w14;
  w14 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w14 + 0xca62c1d6) | 0;
  e = (e << 30) | (e >>> 2);
  t = w12 ^ w7 ^ w1 ^ w15;
  w15 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w15 + 0xca62c1d6) | 0;
  d = (d << 30) | (d >>> 2);
  t = w13 ^ w8 ^ w2 ^ w0;
  w0 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w0 + 0xca62c1d6) | 0;
  c = (c << 30) | (c >>> 2);
  t = w14 ^ w9 ^ w3 ^ w1;
  w1 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w1 + 0xca62c1d6) | 0;
  b = (b << 30) | (b >>> 2);
  t = w15 ^ w10 ^ w4 ^ w2;
  w2 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w2 + 0xca62c1d6) | 0;
  a = (a << 30) | (a >>> 2);
  t = w0 ^ w11 ^ w5 ^ w3;
  w3 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w3 + 0xca62c1d6) | 0;
  e = (e << 30) | (e >>> 2);
  t = w1 ^ w12 ^ w6 ^ w4;
  w4 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w4 + 0xca62c1d6) | 0;
  d = (d << 30) | (d >>> 2);
  t = w2 ^ w13 ^ w7 ^ w5;
  w5 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w5 + 0xca62c1d6) | 0;
  c = (c << 30) | (c >>> 2);
  t = w3 ^ w14 ^ w8 ^ w6;
  w6 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w6 + 0xca62c1d6) | 0;
  b = (b << 30) | (b >>> 2);
  t = w4 ^ w15 ^ w9 ^ w7;
  w7 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w7 + 0xca62c1d6) | 0;
  a = (a << 30) | (a >>> 2);
  t = w5 ^ w0 ^ w10 ^ w8;
  w8 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w8 + 0xca62c1d6) | 0;
  e = (e << 30) | (e >>> 2);
  t = w6 ^ w1 ^ w11 ^ w9;
  w9 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w9 + 0xca62c1d6) | 0;
  d = (d << 30) | (d >>> 2);
  t = w7 ^ w2 ^ w12 ^ w10;
  w10 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w10 + 0xca62c1d6) | 0;
  c = (c << 30) | (c >>> 2);
  t = w8 ^ w3 ^ w13 ^ w11;
  w11 = (t << 1) | (t >>> 31);
  e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w11 + 0xca62c1d6) | 0;
  b = (b << 30) | (b >>> 2);
  t = w9 ^ w4 ^ w14 ^ w12;
  w12 = (t << 1) | (t >>> 31);
  d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w12 + 0xca62c1d6) | 0;
  a = (a << 30) | (a >>> 2);
  t = w10 ^ w5 ^ w15 ^ w13;
  w13 = (t << 1) | (t >>> 31);
  c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w13 + 0xca62c1d6) | 0;
  e = (e << 30) | (e >>> 2);
  t = w11 ^ w6 ^ w0 ^ w14;
  w14 = (t << 1) | (t >>> 31);
  b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w14 + 0xca62c1d6) | 0;
  d = (d << 30) | (d >>> 2);
  t = w12 ^ w7 ^ w1 ^ w15;
  w15 = (t << 1) | (t >>> 31);
  a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w15 + 0xca62c1d6) | 0;
  c = (c << 30) | (c >>> 2);
  H[0] = (a + 0x67452301) | 0;
  H[1] = (b + 0xefcdab89) | 0;
  H[2] = (c + 0x98badcfe) | 0;
  H[3] = (d + 0x10325476) | 0;
  H[4] = (e + 0xc3d2e1f0) | 0;
}
