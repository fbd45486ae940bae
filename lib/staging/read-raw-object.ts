import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ObjectUnreadableError, type StageLimits } from './stage-limits.ts';

export interface RawObjectRead {
  compressed: boolean;
  /** The object's size on disk: a staged object was read to its end. */
  bytesIn: number;
}

/**
 * Streams one raw object (plain, or gzip verified end to end) into `consume`, decompressed and
 * within the staging limits: the decompressed size cap, and the compression-ratio cap taken on
 * the compressed bytes gunzip has consumed (not those read ahead from disk), so a bomb stops
 * within about one chunk past the cap. A corrupt or truncated gzip stream, or bytes after the
 * last gzip member, make the object unreadable (ObjectUnreadableError) rather than short.
 *
 * `consume` pulls the chunks itself, so backpressure holds end to end: memory does not grow with
 * the object, however slow the consumer.
 */
export async function readRawObject(inputPath: string, limits: StageLimits, consume: (chunks: AsyncIterable<Buffer>) => Promise<void>): Promise<RawObjectRead> {
  const compressed = await hasGzipMagic(inputPath);
  const bytesIn = (await stat(inputPath)).size;
  const input = createReadStream(inputPath, { highWaterMark: 1 << 20 });
  const gunzip = compressed ? createGunzip({ chunkSize: 1 << 18 }) : undefined;
  let decompressed = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      decompressed += chunk.length;
      if (decompressed > limits.maxDecompressedBytes) {
        callback(new ObjectUnreadableError(`decompressed size exceeds the limit of ${limits.maxDecompressedBytes} bytes`));
        return;
      }
      const consumed = Math.max(gunzip?.bytesWritten ?? 0, 1);
      if (gunzip && decompressed > 1 << 20 && decompressed > consumed * limits.maxCompressionRatio) {
        callback(new ObjectUnreadableError(`compression ratio exceeds ${limits.maxCompressionRatio}:1 (likely a decompression bomb)`));
        return;
      }
      callback(null, chunk);
    },
  });
  // A consumer that throws mid-stream makes pipeline() reject with an AbortError: keep its own error.
  let consumerError: unknown;
  const consumer = async (chunks: AsyncIterable<Buffer>) => {
    try {
      await consume(chunks);
    } catch (error) {
      consumerError = error;
      throw error;
    }
  };
  try {
    if (gunzip) {
      await pipeline(input, gunzip, guard, consumer);
      // Node's gunzip stops quietly at bytes after a member that do not start another member.
      if (gunzip.bytesWritten !== bytesIn) {
        throw new ObjectUnreadableError(`gzip stream is corrupt: ${bytesIn - gunzip.bytesWritten} bytes after the end of gzip data at offset ${gunzip.bytesWritten} are not a gzip member`);
      }
    } else {
      await pipeline(input, guard, consumer);
    }
  } catch (caught) {
    const error = consumerError ?? caught;
    if (error instanceof ObjectUnreadableError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'Z_NEED_DICT' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new ObjectUnreadableError(`gzip stream is corrupt or truncated (${(error as Error).message})`, { cause: error });
    }
    throw error;
  }
  return { compressed, bytesIn };
}

async function hasGzipMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(2);
    const { bytesRead } = await handle.read(header, 0, 2, 0);
    return bytesRead === 2 && header[0] === 0x1f && header[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
