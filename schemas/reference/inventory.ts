import { z } from 'zod';

/**
 * The VM inventory as dated snapshots: which VM owned which interface and private IP, and what it
 * was for, at a point in time. A snapshot is in force from its `snapshot_at` until the next
 * snapshot's, so a flow is enriched with the snapshot valid at its start and an address reused
 * later by another VM is never attributed to the new VM for earlier traffic.
 */
export const inventoryInterfaceSchema = z.strictObject({
  /** Cloud interface id (AWS ENI id, Azure NIC id) or the agent's capture interface. */
  interface_id: z.string().min(1),
  mac: z
    .string()
    .regex(/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/, 'expected a MAC address')
    .optional(),
  private_ips: z.array(z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' })).min(1),
});

export const inventoryVmSchema = z.strictObject({
  vm_id: z.string().min(1),
  vm_name: z.string().min(1),
  /** AWS account, Azure subscription, GCP project. */
  account_id: z.string().min(1),
  region: z.string().optional(),
  sku: z.string().optional(),
  /** Network capacity of the VM size, in Mbps. */
  capacity_mbps: z.number().positive().optional(),
  owner_team: z.string().optional(),
  segment: z.string().min(1),
  tags: z.array(z.string().min(1)).default([]),
  interfaces: z.array(inventoryInterfaceSchema).min(1),
});

const snapshotAt = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as "2024-05-01T00:00:00Z"' });

/** One snapshot: every VM as it was at `snapshot_at` (UTC). */
export const inventorySnapshotSchema = z
  .strictObject({
    /** When this snapshot was taken; absent only for a single, undated inventory (valid at all times). */
    snapshot_at: snapshotAt.optional(),
    vms: z.array(inventoryVmSchema),
  })
  .superRefine((snapshot, ctx) => {
    const vmIds = new Map<string, number>();
    const owners = new Map<string, string>();
    const interfaces = new Map<string, string>();
    snapshot.vms.forEach((vm, vmIndex) => {
      if (vmIds.has(vm.vm_id)) ctx.addIssue({ code: 'custom', path: ['vms', vmIndex, 'vm_id'], message: `duplicate vm_id "${vm.vm_id}" in one snapshot` });
      vmIds.set(vm.vm_id, vmIndex);
      vm.interfaces.forEach((nic, nicIndex) => {
        const nicOwner = interfaces.get(nic.interface_id);
        if (nicOwner !== undefined && nicOwner !== vm.vm_id) {
          ctx.addIssue({
            code: 'custom',
            path: ['vms', vmIndex, 'interfaces', nicIndex, 'interface_id'],
            message: `interface ${nic.interface_id} is already attached to VM "${nicOwner}" in this snapshot`,
          });
        }
        interfaces.set(nic.interface_id, vm.vm_id);
        nic.private_ips.forEach((ip, ipIndex) => {
          const key = ip.toLowerCase();
          const owner = owners.get(key);
          if (owner !== undefined && owner !== vm.vm_id) {
            ctx.addIssue({
              code: 'custom',
              path: ['vms', vmIndex, 'interfaces', nicIndex, 'private_ips', ipIndex],
              message: `address ${ip} is already assigned to VM "${owner}" in this snapshot`,
            });
          }
          owners.set(key, vm.vm_id);
        });
      });
    });
  });

/** An inventory file holds one snapshot (`snapshot_at` + `vms`) or several (`snapshots`, this shape). */
export const inventorySnapshotsFileSchema = z.strictObject({ snapshots: z.array(inventorySnapshotSchema).min(1) });

/** Kept for readers of a single snapshot. */
export const inventorySchema = inventorySnapshotSchema;

export type InventorySnapshot = z.infer<typeof inventorySnapshotSchema>;
export type Inventory = InventorySnapshot;
export type InventoryVm = z.infer<typeof inventoryVmSchema>;

/** The inventory in force over time: snapshots in time order (an undated one first and alone). */
export interface InventoryHistory {
  snapshots: InventorySnapshot[];
}
