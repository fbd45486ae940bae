-- observer_point(...): the point a flow record was observed at, as '<source type>:<point>': the
-- agent's VM, the ENI or transit gateway attachment of an AWS record, the NIC (MAC) of an Azure VNet
-- record, the NSG and NIC of an NSG tuple (a subnet's NSG and a NIC's NSG are two points), the
-- reporting end of a GCP record, the VNIC or subnet of an OCI record. Records of one observer share
-- it; enrich/connection_observations.sql counts a connection once across points.
CREATE OR REPLACE MACRO observer_point(source_type, observer_vm_id, interface_id, mac_address, reporter, instance_id, subnet_id, tgw_attachment_id, resource_id, raw_object_key) AS
    source_type || ':' || coalesce(
        CASE source_type
            WHEN 'agent' THEN observer_vm_id
            WHEN 'azure_nsg' THEN nullif(regexp_extract(raw_object_key, '(?i)/NETWORKSECURITYGROUPS/([^/]+)', 1), '') || '/' || mac_address
            WHEN 'azure_vnet' THEN mac_address
            WHEN 'gcp_vpc' THEN reporter || '/' || coalesce(instance_id, subnet_id)
            ELSE coalesce(interface_id, tgw_attachment_id, resource_id, subnet_id)
        END,
        -- A record naming no point of its own (an AWS custom format without interface-id): its object's.
        raw_object_key
    );
