import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventorySnapshot } from '../../schemas/reference/inventory.ts';
import { referenceOf, runEnrich, type FlowInput } from './enrich-harness.ts';

/**
 * Which VM observed a record (flows.observer_vm_id; sql/enrich/flows_enriched.sql, macro
 * observer_key): the agent names its VM, an AWS record its ENI, an Azure tuple its NIC's MAC, a GCP
 * record the reporting end's instance (project and name). Given records of each source, expecting
 * each record's observer, through the inventory in force at its start.
 */
const vm = (vm_id: string, vm_name: string, account_id: string, nic: { interface_id: string; mac?: string; ip: string }): InventorySnapshot['vms'][number] => ({
  vm_id,
  vm_name,
  account_id,
  segment: 'app',
  tags: [],
  interfaces: [{ interface_id: nic.interface_id, ...(nic.mac ? { mac: nic.mac } : {}), private_ips: [nic.ip] }],
});

const VMS = [
  vm('i-0web1', 'web-1', '123456789012', { interface_id: 'eni-0web1', ip: '10.0.1.10' }),
  vm('az-sql-vmid', 'az-sql-1', 'sub-1', { interface_id: '/subscriptions/sub-1/…/networkInterfaces/az-sql-1-nic', mac: '00:0d:3a:2b:30:01', ip: '10.1.3.4' }),
  vm('az-web-vmid', 'az-web-1', 'sub-1', { interface_id: '/subscriptions/sub-1/…/networkInterfaces/az-web-1-nic', mac: '00-0D-3A-2B-10-01', ip: '10.1.1.4' }),
  vm('4519237600000000002', 'gce-etl-1', 'shop-data-prod', { interface_id: 'gce-etl-1/nic0', ip: '10.2.1.10' }),
  vm('4519237600000000003', 'gce-redis-1', 'shop-data-prod', { interface_id: 'gce-redis-1/nic0', ip: '10.2.4.20' }),
  // The same instance name in another project is another VM.
  vm('9999', 'gce-redis-1', 'other-project', { interface_id: 'gce-redis-1/nic0', ip: '10.9.4.20' }),
];

const NSG_KEY = `resourceId=/SUBSCRIPTIONS/SUB-1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-SQL/y=2024/m=05/d=01/h=13/m=00/macAddress=000D3A2B3001/PT1H.json`;

const cases: { name: string; flow: FlowInput; observer: string | null }[] = [
  {
    name: 'the agent names its VM',
    flow: { flow_id: 'agent', observer_vm_id: 'i-0app1', direction: 'egress', start_at: '2024-05-01T13:01:00', src_ip: '10.0.2.10', dst_ip: '10.0.3.10' },
    observer: 'i-0app1',
  },
  {
    name: 'an AWS record: the VM of its ENI',
    flow: { flow_id: 'aws', source_type: 'aws_vpc', interface_id: 'eni-0web1', start_at: '2024-05-01T13:02:00', src_ip: '203.0.113.9', dst_ip: '10.0.1.10', dst_port: 443 },
    observer: 'i-0web1',
  },
  {
    name: 'an Azure NSG tuple: the VM of the NIC whose MAC its flow group names (the inventory writes it 00:0d:3a:…)',
    flow: {
      flow_id: `${NSG_KEY}#1`,
      source_type: 'azure_nsg',
      mac_address: '000D3A2B3001',
      direction: 'ingress',
      start_at: '2024-05-01T13:03:00',
      src_ip: '10.1.2.5',
      dst_ip: '10.1.3.4',
      dst_port: 1433,
    },
    observer: 'az-sql-vmid',
  },
  {
    name: "an Azure VNet tuple: the VM of the record's macAddress (the inventory writes it 00-0D-3A-…)",
    flow: { flow_id: 'vnet', source_type: 'azure_vnet', mac_address: '000D3A2B1001', direction: 'ingress', start_at: '2024-05-01T13:04:00', src_ip: '203.0.113.7', dst_ip: '10.1.1.4' },
    observer: 'az-web-vmid',
  },
  {
    name: 'an Azure tuple of a NIC the inventory does not know: no observer',
    flow: { flow_id: 'vnet-unknown', source_type: 'azure_vnet', mac_address: '000D3AFFFFFF', direction: 'ingress', start_at: '2024-05-01T13:05:00', src_ip: '203.0.113.7', dst_ip: '10.1.1.99' },
    observer: null,
  },
  {
    name: "a GCP record reported by its source (SRC): the source's instance",
    flow: {
      flow_id: 'gcp-src',
      source_type: 'gcp_vpc',
      reporter: 'SRC',
      instance_id: 'gce-etl-1',
      account_id: 'shop-data-prod',
      direction: 'egress',
      start_at: '2024-05-01T13:06:00',
      src_ip: '10.2.1.10',
      dst_ip: '10.2.4.20',
      dst_port: 6379,
    },
    observer: '4519237600000000002',
  },
  {
    name: "a GCP record reported by its destination (DEST): the destination's instance, in the reporting project",
    flow: {
      flow_id: 'gcp-dest',
      source_type: 'gcp_vpc',
      reporter: 'DEST',
      instance_id: 'gce-redis-1',
      account_id: 'shop-data-prod',
      direction: 'ingress',
      start_at: '2024-05-01T13:06:00',
      src_ip: '10.2.1.10',
      dst_ip: '10.2.4.20',
      dst_port: 6379,
    },
    observer: '4519237600000000003',
  },
];

describe('observer_vm_id: the VM whose agent, ENI, NIC or instance reported the record', () => {
  let enriched: Awaited<ReturnType<typeof runEnrich>>;
  let observers: Map<string, string | null>;

  beforeAll(async () => {
    enriched = await runEnrich(
      cases.map((c) => c.flow),
      referenceOf({ snapshots: [{ snapshot_at: '2024-05-01T00:00:00Z', vms: VMS }] }),
    );
    const rows = await enriched.session.all<{ raw_object_key: string; observer_vm_id: string | null }>('SELECT raw_object_key, observer_vm_id FROM flows');
    observers = new Map(rows.map((row) => [row.raw_object_key, row.observer_vm_id]));
  });
  afterAll(() => enriched.close());

  it.each(cases)('$name', ({ flow, observer }) => {
    expect(observers.get(flow.flow_id)).toBe(observer);
  });
});
