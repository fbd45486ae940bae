/**
 * The sample estate's VMs on Azure, GCP and OCI: the names, addresses and provider ids the
 * generator writes into the flow logs. reference/inventory.yaml and reference/rules.yaml name
 * the same VMs by the same ids (test/samples/multi-cloud-reference.test.ts checks that they agree).
 */

/** The event hour of the other clouds' samples (UTC): a day after the AWS and agent hours, so that neither changes the other's figures. */
export const MULTI_CLOUD_HOUR = Date.UTC(2024, 4, 2, 13);

export const AZURE = {
  subscription: '7c3e9a2f-4b1d-4e8a-9f6c-2d5b8a1e0c47',
  resourceGroup: 'RG-SHOP-WEU',
  region: 'westeurope',
  /** The NSG of az-sql-1's NIC, whose NSG flow log (version 2) is on. */
  sqlNsg: 'NSG-SQL',
  /** The VNet flow log of the front-end subnet (az-web-1's NIC). */
  vnetFlowLog: 'FL-SNET-WEB',
  vms: {
    web1: { id: 'b7e0c6a2-1f3d-4c59-9e21-6a0d4f8b1c01', name: 'az-web-1', ip: '10.1.1.4', mac: '000D3A2B1001' },
    app1: { id: 'b7e0c6a2-1f3d-4c59-9e21-6a0d4f8b1c02', name: 'az-app-1', ip: '10.1.2.4', mac: '000D3A2B2001' },
    app2: { id: 'b7e0c6a2-1f3d-4c59-9e21-6a0d4f8b1c03', name: 'az-app-2', ip: '10.1.2.5', mac: '000D3A2B2002' },
    sql1: { id: 'b7e0c6a2-1f3d-4c59-9e21-6a0d4f8b1c04', name: 'az-sql-1', ip: '10.1.3.4', mac: '000D3A2B3001' },
  },
} as const;

export const GCP = {
  project: 'shop-data-prod',
  region: 'europe-west1',
  zone: 'europe-west1-b',
  vpc: 'vpc-data',
  vms: {
    api1: { id: '4519237600000000001', name: 'gce-api-1', ip: '10.2.2.10', subnet: 'snet-api', subnetId: '7301000000000000002' },
    etl1: { id: '4519237600000000002', name: 'gce-etl-1', ip: '10.2.1.10', subnet: 'snet-etl', subnetId: '7301000000000000001' },
    redis1: { id: '4519237600000000003', name: 'gce-redis-1', ip: '10.2.4.20', subnet: 'snet-datastore', subnetId: '7301000000000000004' },
  },
} as const;

export const OCI = {
  tenancy: 'ocid1.tenancy.oc1..aaaaaaaa3shopdemotenancy7q2xg4vnk5h6jb',
  compartment: 'ocid1.compartment.oc1..aaaaaaaa3shopdemoprod4m2kq7wzc5t8ya',
  region: 'eu-frankfurt-1',
  connector: 'ocid1.serviceconnector.oc1.eu-frankfurt-1.amaaaaaa3shopdemoflowlogs5r7m2q',
  logGroup: 'ocid1.loggroup.oc1.eu-frankfurt-1.amaaaaaa3shopdemovcnlogs2k8d4',
  vms: {
    bastion1: {
      id: 'ocid1.instance.oc1.eu-frankfurt-1.antheljt3shopdemobastion01',
      name: 'oci-bastion-1',
      ip: '10.3.1.10',
      vnic: 'ocid1.vnic.oc1.eu-frankfurt-1.abtheljt3shopdemobastion01',
      subnet: 'ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaa3shopdemopublic01',
      log: 'ocid1.log.oc1.eu-frankfurt-1.amaaaaaa3shopdemopublicsubnet',
    },
    app1: {
      id: 'ocid1.instance.oc1.eu-frankfurt-1.antheljt3shopdemoapp00001',
      name: 'oci-app-1',
      ip: '10.3.2.10',
      vnic: 'ocid1.vnic.oc1.eu-frankfurt-1.abtheljt3shopdemoapp00001',
      subnet: 'ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaa3shopdemoprivate1',
      log: 'ocid1.log.oc1.eu-frankfurt-1.amaaaaaa3shopdemoprivatesubnet',
    },
  },
} as const;
