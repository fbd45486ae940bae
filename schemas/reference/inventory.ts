import { z } from 'zod';

/** The VM inventory: which VM owns which interface and private IP, and what it is for. */
export const inventoryInterfaceSchema = z.strictObject({
  /** Cloud interface id (AWS ENI id, Azure NIC id) or the agent's capture interface. */
  interface_id: z.string().min(1),
  mac: z.string().regex(/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/, 'expected a MAC address').optional(),
  private_ips: z.array(z.union([z.ipv4(), z.ipv6()])).min(1),
});

export const inventoryVmSchema = z.strictObject({
  vm_id: z.string().min(1),
  vm_name: z.string().min(1),
  account_id: z.string().min(1),
  region: z.string().optional(),
  sku: z.string().optional(),
  capacity_mbps: z.number().positive().optional(),
  owner_team: z.string().optional(),
  segment: z.string().min(1),
  tags: z.array(z.string().min(1)).default([]),
  interfaces: z.array(inventoryInterfaceSchema).min(1),
});

export const inventorySchema = z.strictObject({
  /** When this snapshot was taken (UTC). */
  snapshot_at: z.iso.datetime().optional(),
  vms: z.array(inventoryVmSchema),
});

export type Inventory = z.infer<typeof inventorySchema>;
export type InventoryVm = z.infer<typeof inventoryVmSchema>;
