import { describe, expect, it } from 'vitest';
import { affinityOf, assignShards, listingDigest, parseShardSpec } from '../../lib/scale-out/shard-assignment.ts';

const object = (key: string, size: number) => ({ key, size, etag: `"${size}"` });

describe('shard assignment', () => {
  const listing = Array.from({ length: 40 }, (_, i) => object(`raw/aws_vpc/AWSLogs/1/vpcflowlogs/r/2024/05/01/o${String(i).padStart(2, '0')}.log.gz`, 1000 + ((i * 7919) % 5000)));

  it('puts every object in exactly one shard, whatever order the listing came in', () => {
    const shards = assignShards(listing, 7);
    expect(shards.flat().sort()).toEqual(listing.map((o) => o.key).sort());
    expect(assignShards([...listing].reverse(), 7)).toEqual(shards);
  });

  it('balances bytes to process: no shard holds more than the lightest plus the largest object (gzip counts expanded)', () => {
    for (const count of [2, 4, 7]) {
      const sizes = new Map(listing.map((o) => [o.key, o.size * 6]));
      const loads = assignShards(listing, count).map((keys) => keys.reduce((sum, key) => sum + sizes.get(key)!, 0));
      expect(Math.max(...loads) - Math.min(...loads), `${count} shards`).toBeLessThanOrEqual(6 * Math.max(...listing.map((o) => o.size)));
    }
  });

  it('keeps the NSG and VNet logs of one MAC address in one shard', () => {
    const azure = [
      object('raw/azure_nsg/x/y=2024/m=05/d=01/h=13/m=00/macAddress=00224800AA01/PT1H.json', 9000),
      object('raw/azure_vnet/x/y=2024/m=05/d=01/h=13/m=00/macAddress=00224800aa01/PT1H.json', 9000),
      object('raw/azure_vnet/x/y=2024/m=05/d=01/h=13/m=00/macAddress=00224800AA02/PT1H.json', 9000),
    ];
    expect(affinityOf(azure[0]!.key)).toBe(affinityOf(azure[1]!.key));
    const shards = assignShards([...azure, ...listing], 4);
    const shardOf = (key: string) => shards.findIndex((keys) => keys.includes(key));
    expect(shardOf(azure[0]!.key)).toBe(shardOf(azure[1]!.key));
  });

  it('leaves shards empty when there are fewer objects than shards', () => {
    expect(assignShards(listing.slice(0, 2), 4).map((keys) => keys.length)).toEqual([1, 1, 0, 0]);
  });

  it('digests a listing by key, ETag and size, not by order', () => {
    expect(listingDigest([...listing].reverse())).toBe(listingDigest(listing));
    expect(listingDigest([{ ...listing[0]!, etag: '"other"' }, ...listing.slice(1)])).not.toBe(listingDigest(listing));
  });

  it.each([
    ['0/1', { index: 0, count: 1 }],
    ['6/7', { index: 6, count: 7 }],
  ])('reads --shard %s', (text, spec) => expect(parseShardSpec(text)).toEqual(spec));

  it.each([
    ['4/4', 'i must be below N'],
    ['1-of-4', 'takes i/N'],
    ['0/0', 'N must be between 1 and 10000'],
    ['-1/4', 'takes i/N'],
  ])('refuses --shard %s', (text, message) => expect(() => parseShardSpec(text)).toThrow(message));
});
