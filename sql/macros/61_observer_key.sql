-- observer_key(...): what names the VM that observed a flow record, as the inventory states it
-- (enrich/flows_enriched.sql finds observer_vm_id by it): the interface of an AWS record (ENI) or
-- an OCI one (VNIC); the NIC's MAC address of an Azure NSG or VNet tuple (the blob path's and the
-- record's macAddress); the reporting end's instance of a GCP record (its project and VM name:
-- src_instance for SRC, dest_instance for DEST). The agent names its VM itself.
CREATE OR REPLACE MACRO observer_key(source_type, interface_id, mac_address, account_id, instance_id) AS
    CASE
        WHEN source_type IN ('azure_nsg', 'azure_vnet') THEN 'mac:' || mac_address
        WHEN source_type = 'gcp_vpc' THEN 'gce:' || account_id || '/' || instance_id
        ELSE 'interface:' || interface_id
    END;

-- The same key for a MAC address as the inventory writes it (00:0d:3a:2b:30:01, 00-0D-3A-…, 000d3a…):
-- the Azure sources' form (upper case, no separators).
CREATE OR REPLACE MACRO mac_key(mac) AS
    'mac:' || upper(regexp_replace(mac, '[:-]', '', 'g'));
