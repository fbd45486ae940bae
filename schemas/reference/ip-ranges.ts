import { z } from 'zod';

const cidr = z.union([z.cidrv4(), z.cidrv6(), z.ipv4(), z.ipv6()], { error: 'expected a CIDR such as 10.0.0.0/16 or 2600:1f18::/36, or an address' });

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

/**
 * AWS's published `ip-ranges.json` (https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html):
 * `prefixes` (IPv4) and `ipv6_prefixes`, each with region, service and network border group.
 * Unknown keys are allowed: AWS adds fields without notice.
 */
const awsPrefix = {
  region: z.string().min(1),
  service: z.string().min(1),
  network_border_group: z.string().optional(),
};
export const awsIpRangesSchema = z.object({
  syncToken: z.string().optional(),
  createDate: z.string().optional(),
  prefixes: z.array(z.object({ ip_prefix: z.cidrv4({ error: 'expected an IPv4 CIDR' }), ...awsPrefix })),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.cidrv6({ error: 'expected an IPv6 CIDR' }), ...awsPrefix })).default([]),
});
export type AwsIpRanges = z.infer<typeof awsIpRangesSchema>;

/**
 * Azure's Service Tags file (ServiceTags_Public_<date>.json, from the Download Center or the
 * Service Tag Discovery API): `values[]` with a name such as `Storage.WestEurope` and
 * `properties.addressPrefixes` mixing IPv4 and IPv6.
 */
export const azureServiceTagsSchema = z.object({
  changeNumber: z.number().optional(),
  cloud: z.string().optional(),
  values: z.array(
    z.object({
      name: z.string().min(1),
      id: z.string().optional(),
      properties: z.object({
        changeNumber: z.number().optional(),
        region: z.string().default(''),
        regionId: z.number().optional(),
        platform: z.string().optional(),
        systemService: z.string().default(''),
        addressPrefixes: z.array(z.union([z.cidrv4(), z.cidrv6()], { error: 'expected an IPv4 or IPv6 CIDR' })),
      }),
    }),
  ),
});
export type AzureServiceTags = z.infer<typeof azureServiceTagsSchema>;
