import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ObjectExistsError, type ObjectStore } from '../storage/object-store.ts';
import { processExists } from '../process/process-exists.ts';
import type { PartitionRef } from './partition-keys.ts';

/**
 * A partition lock kept in the object store itself, so that runners on different machines that
 * share the store process an hour one at a time.
 *
 * The lock is a sequence of immutable generations, `locks/partitions/dt=…/hour=…/lock.<n>.json`.
 * Whoever creates generation n+1 (a create-only PUT: `If-None-Match: *` on S3 and Azure, `link()`
 * on a local folder, so there is exactly one winner) holds the lock, as long as generation n was
 * released, or its lease expired, or its owner is a process of this machine that no longer exists.
 * Nobody ever deletes or overwrites the current generation except its owner (to renew or release
 * it), so taking over a stale lock cannot race with another taker: two takers both try to create
 * the same n+1 and one of them fails.
 *
 * Fencing: before each manifest commit the holder checks that its generation is still the newest
 * and that its lease has at least `commitMargin` left by its own clock. A taker only takes over
 * after the lease expired, so a commit made with margin left cannot overlap a new holder's
 * (assuming clocks agree to within the margin).
 */
export const lockBodySchema = z.object({
  owner: z.string(),
  host: z.string(),
  pid: z.number(),
  generation: z.number().int().positive(),
  acquired_at: z.string(),
  expires_at: z.string(),
  released: z.boolean(),
});

export type LockBody = z.infer<typeof lockBodySchema>;

export interface PartitionLockOptions {
  store: ObjectStore;
  partition: PartitionRef;
  /** A lock not renewed for this long may be taken over. */
  leaseMs: number;
  /** How long acquire() waits for another holder before giving up. */
  waitMs: number;
  now?: () => Date;
  /** Identifies this runner in the lock body (and in logs). */
  owner?: string;
  /** Poll interval while waiting; grows to 4× with jitter. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Told once when acquire() finds the partition held and starts waiting. */
  onWait?: (holder: LockBody) => void;
}

export type AcquireResult = { acquired: true; generation: number; waitedMs: number; tookOver: LockBody | null; contended: boolean } | { acquired: false; holder: LockBody | null; waitedMs: number };

export class LockLostError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`partition lock ${key} lost: ${reason}`);
    this.name = 'LockLostError';
  }
}

const GENERATION = /lock\.(\d{12})\.json$/;

export function lockPrefix(partition: PartitionRef): string {
  return `locks/partitions/dt=${partition.dt}/hour=${partition.hour}/`;
}

export function lockKey(partition: PartitionRef, generation: number): string {
  return `${lockPrefix(partition)}lock.${String(generation).padStart(12, '0')}.json`;
}

export class PartitionLock {
  readonly owner: string;
  private generation: number | undefined;
  private expiresAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private lostReason: string | undefined;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: PartitionLockOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get key(): string | undefined {
    return this.generation === undefined ? undefined : lockKey(this.options.partition, this.generation);
  }

  /** Takes the lock, waiting up to `waitMs` for another holder; never throws for contention. */
  async acquire(): Promise<AcquireResult> {
    const started = this.now().getTime();
    let poll = this.options.pollMs ?? 250;
    let contended = false;
    let told = false;
    for (;;) {
      let newest = await this.newest();
      const free = !newest || isFree(newest.body, this.now());
      if (free) {
        const generation = (newest?.generation ?? 0) + 1;
        const body = this.body(generation, false);
        const key = lockKey(this.options.partition, generation);
        try {
          await this.options.store.putBytes(key, JSON.stringify(body), { createOnly: true, contentType: 'application/json' });
        } catch (error) {
          if (!(error instanceof ObjectExistsError)) throw error;
          // Another runner created this generation first: look again.
          contended = true;
          continue;
        }
        // A listing can race with a hand-over: the generation it found was collected by the next
        // holder before it was read, so it showed no lock at all and this runner created a
        // generation below the newest (generation 1), which holds nothing. Seen as spurious
        // "lock lost" failures at commit under load. Only the newest generation counts, so a
        // lower one is withdrawn (it is this runner's own; nobody decides on it) and we wait.
        const after = await this.newest();
        if (after && after.generation > generation) {
          await this.options.store.delete(key).catch(() => {});
          newest = after;
        } else {
          this.generation = generation;
          this.expiresAt = Date.parse(body.expires_at);
          this.lostReason = undefined;
          this.startRenewing();
          await this.collectOlder(generation);
          const tookOver = newest?.body && !newest.body.released ? newest.body : null;
          return { acquired: true, generation, waitedMs: this.now().getTime() - started, tookOver, contended };
        }
      }
      contended = true;
      const waited = this.now().getTime() - started;
      if (waited >= this.options.waitMs) return { acquired: false, holder: newest?.body ?? null, waitedMs: waited };
      if (!told && newest) this.options.onWait?.(newest.body);
      told = true;
      await this.sleep(Math.min(this.options.waitMs - waited, poll * (0.5 + Math.random())));
      poll = Math.min(poll * 2, (this.options.pollMs ?? 250) * 4);
    }
  }

  /**
   * Throws LockLostError unless this runner still holds the newest generation with at least
   * `marginMs` of its lease left. Called right before every manifest commit.
   */
  async assertHeld(marginMs = Math.min(30_000, this.options.leaseMs / 4)): Promise<void> {
    const key = this.key;
    if (!key || this.generation === undefined) throw new LockLostError('(none)', 'not acquired');
    if (this.lostReason) throw new LockLostError(key, this.lostReason);
    await this.renewing;
    if (this.expiresAt - this.now().getTime() < marginMs) await this.renew();
    if (this.expiresAt - this.now().getTime() < marginMs) throw new LockLostError(key, 'lease about to expire');
    const newest = await this.newest();
    if (!newest || newest.generation !== this.generation || newest.body.owner !== this.owner) {
      this.lostReason = `taken over by ${newest?.body.owner ?? 'nobody'} (generation ${newest?.generation ?? '-'})`;
      throw new LockLostError(key, this.lostReason);
    }
  }

  /** Marks the generation released (so the next runner need not wait for the lease) and stops renewing. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing?.catch(() => {});
    if (this.generation === undefined || this.lostReason) return;
    const newest = await this.newest();
    if (newest?.generation === this.generation && newest.body.owner === this.owner) {
      await this.options.store.putBytes(lockKey(this.options.partition, this.generation), JSON.stringify(this.body(this.generation, true)), { contentType: 'application/json' });
    }
    this.generation = undefined;
  }

  private startRenewing(): void {
    const every = Math.max(50, Math.floor(this.options.leaseMs / 4));
    this.renewTimer = setInterval(() => {
      this.renewing = this.renew().catch(() => {
        // A failed renewal is retried at the next tick; assertHeld refuses to commit on a short lease.
      });
    }, every);
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renew(): Promise<void> {
    if (this.generation === undefined || this.lostReason) return;
    const newest = await this.newest();
    if (!newest || newest.generation !== this.generation || newest.body.owner !== this.owner) {
      this.lostReason = `taken over by ${newest?.body.owner ?? 'nobody'}`;
      this.stopRenewing();
      return;
    }
    // Only the owner writes its own generation, so overwriting it cannot clobber another runner.
    const body = this.body(this.generation, false);
    await this.options.store.putBytes(lockKey(this.options.partition, this.generation), JSON.stringify(body), { contentType: 'application/json' });
    this.expiresAt = Date.parse(body.expires_at);
  }

  private body(generation: number, released: boolean): LockBody {
    const now = this.now();
    return {
      owner: this.owner,
      host: hostname(),
      pid: process.pid,
      generation,
      acquired_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.options.leaseMs).toISOString(),
      released,
    };
  }

  /** The newest generation and its body; a body that vanished counts as free, one that cannot be parsed expires a lease after it was written. */
  private async newest(): Promise<{ generation: number; body: LockBody } | undefined> {
    let newest: { generation: number; key: string; lastModified: Date } | undefined;
    for await (const object of this.options.store.list(lockPrefix(this.options.partition))) {
      const match = GENERATION.exec(object.key);
      if (!match) continue;
      const generation = Number(match[1]);
      if (!newest || generation > newest.generation) newest = { generation, key: object.key, lastModified: object.lastModified };
    }
    if (!newest) return undefined;
    const bytes = await this.options.store.getBytes(newest.key);
    const parsed = bytes ? lockBodySchema.safeParse(safeJson(bytes.toString('utf8'))) : undefined;
    if (parsed?.success) return { generation: newest.generation, body: parsed.data };
    const unknown = { owner: 'unknown', host: '', pid: 0, generation: newest.generation, acquired_at: newest.lastModified.toISOString() };
    return {
      generation: newest.generation,
      body: { ...unknown, expires_at: new Date(newest.lastModified.getTime() + this.options.leaseMs).toISOString(), released: !bytes },
    };
  }

  /** Older generations are history nobody decides on any more (only the newest counts). */
  private async collectOlder(generation: number): Promise<void> {
    for await (const object of this.options.store.list(lockPrefix(this.options.partition))) {
      const match = GENERATION.exec(object.key);
      if (match && Number(match[1]) < generation) await this.options.store.delete(object.key).catch(() => {});
    }
  }
}

/** A generation is free when released, expired, or held by a process of this machine that is gone. */
export function isFree(body: LockBody, now: Date): boolean {
  if (body.released) return true;
  if (Date.parse(body.expires_at) <= now.getTime()) return true;
  return body.host === hostname() && body.pid > 0 && body.pid !== process.pid && !processExists(body.pid);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
