-- observer_key(...): what names the VM that observed a flow record, as the inventory states it
-- (enrich/flows_enriched.sql finds observer_vm_id by it): the interface of an AWS record (ENI) or
-- an OCI one (VNIC), as it is; the NIC's MAC address of an Azure NSG or VNet tuple (the blob path's
-- and the record's macAddress) as mac_key; the reporting end's instance of a GCP record (its project
-- and VM name: src_instance for SRC, dest_instance for DEST) as gce_key. The agent names its VM
-- itself. The interface id is not rewritten (the one join of every AWS flow stays as cheap as it
-- was); no ENI, VNIC or Azure NIC resource id starts with 'mac:' or 'gce:'.
CREATE OR REPLACE MACRO mac_key(mac) AS
    -- As the inventory may write it (00:0d:3a:2b:30:01, 00-0D-3A-…) and the Azure sources do (000D3A2B3001).
    'mac:' || upper(regexp_replace(mac, '[:-]', '', 'g'));

CREATE OR REPLACE MACRO gce_key(project_id, vm_name) AS
    'gce:' || project_id || '/' || vm_name;

CREATE OR REPLACE MACRO observer_key(source_type, interface_id, mac_address, account_id, instance_id) AS
    CASE
        WHEN source_type IN ('azure_nsg', 'azure_vnet') THEN mac_key(mac_address)
        WHEN source_type = 'gcp_vpc' THEN gce_key(account_id, instance_id)
        ELSE interface_id
    END;
