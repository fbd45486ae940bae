import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHA1_BASE64_LENGTH, SHA1_SINGLE_BLOCK_MAX_BYTES, sha1SingleBlock, sha1SingleBlockBase64 } from '../../lib/net/sha1-single-block.ts';

const SEED = Number(process.env.NETFLOW_TEST_SEED ?? 20261128);

function digestOf(message: Uint8Array): Buffer {
  const out = Buffer.alloc(20);
  sha1SingleBlock(message, message.length, out);
  return out;
}

function base64Of(message: Uint8Array, out = Buffer.alloc(SHA1_BASE64_LENGTH), offset = 0): string {
  sha1SingleBlockBase64(message, message.length, out, offset);
  return out.toString('latin1', offset, offset + SHA1_BASE64_LENGTH);
}

describe('sha1SingleBlock', () => {
  it.each([
    { description: 'FIPS 180 example "abc"', text: 'abc', hex: 'a9993e364706816aba3e25717850c26c9cd0d89d' },
    { description: 'the empty message', text: '', hex: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
    { description: '55 bytes, the longest that fits one block', text: 'a'.repeat(55), hex: 'c1c8bbdc22796e28c0e15163d20899b65621d65a' },
  ])('$description', ({ text, hex }) => {
    expect(digestOf(Buffer.from(text, 'latin1')).toString('hex')).toBe(hex);
  });

  it('equals node:crypto on random messages of every length 0-55, hashed one after another', () => {
    // One property run hashes a sequence of messages of mixed lengths: a long message followed by
    // a short one checks that the reused block is padded afresh, not left with the longer one's tail.
    const message = fc.integer({ min: 0, max: SHA1_SINGLE_BLOCK_MAX_BYTES }).chain((length) => fc.uint8Array({ minLength: length, maxLength: length }));
    const lengthsSeen = new Set<number>();
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
        for (const bytes of messages) {
          lengthsSeen.add(bytes.length);
          expect(digestOf(bytes).toString('hex')).toBe(crypto.createHash('sha1').update(bytes).digest('hex'));
          expect(base64Of(bytes)).toBe(crypto.createHash('sha1').update(bytes).digest('base64'));
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
    expect(lengthsSeen.size).toBe(SHA1_SINGLE_BLOCK_MAX_BYTES + 1);
  });

  it('reads the message from its start up to the length given, and writes the base64 only at the offset given', () => {
    const message = Buffer.from('0123456789abcdefXXXX', 'latin1');
    const out = Buffer.alloc(40, 0x2e);
    sha1SingleBlockBase64(message, 16, out, 5);
    expect(out.toString('latin1')).toBe(`.....${crypto.createHash('sha1').update('0123456789abcdef').digest('base64')}.......`);
  });

  it('refuses a message that does not fit one block', () => {
    expect(() => sha1SingleBlock(new Uint8Array(56), 56, new Uint8Array(20))).toThrow(/56 bytes do not fit one block/);
  });
});
