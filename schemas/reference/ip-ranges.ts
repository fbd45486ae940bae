import { z } from 'zod';

const cidr = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()]);

/** Named address ranges and service tags; a flow endpoint takes the longest matching prefix. */
export const ipRangeSchema = z.strictObject({
  cidr,
  name: z.string().min(1),
  tags: z.array(z.string().min(1)).default([]),
  segment: z.string().min(1).optional(),
});

export const ipRangesSchema = z.strictObject({
  ranges: z.array(ipRangeSchema),
});

export type IpRange = z.infer<typeof ipRangeSchema>;
export type IpRanges = z.infer<typeof ipRangesSchema>;
