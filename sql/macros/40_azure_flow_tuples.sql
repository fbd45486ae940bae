-- The shapes the Azure NSG and VNet flow log models share (sql/normalize/azure_nsg__records.sql,
-- azure_vnet__records.sql). Both split each tuple on ',' into the list `f`; fields 1 to 5 and 10
-- to 13 mean the same in both.
--
--   azure_every(flags)            whether every flag of a list is true (an empty or NULL list: true):
--                                 a group whose inner list is missing or not an array refuses the
--                                 record, which would otherwise lose its tuples silently
--   azure_counter(txt)            a counter field: empty (B rows) or absent is 0, NULL when not an
--                                 integer (the cast is tried first: most fields are numbers)
--   azure_flow_state(code)        B, C, E, D as begin, continuing, end, deny; NULL for anything else
--   azure_field_reason(label, ok, txt, wanted)
--                                 the reason text of one tuple field unless `ok` is true:
--                                 'label: "txt" wanted' (NULL `ok` is a failure)
--   azure_endpoint_reasons(f, src_ip, dst_ip, src_port, dst_port)
--                                 the reasons of fields 2 to 5 (addresses and ports), or NULL
--   azure_counter_reasons(f, packets, bytes, reverse_packets, reverse_bytes, labels)
--                                 the reasons of fields 10 to 13, labelled, or NULL
--   azure_tuple_text(fields)      the text of a tuple staging typed (lib/sources/azure-plain-tuples.ts)
--                                 from its fields, which staging kept as they were: NULL (empty) as ''

CREATE OR REPLACE MACRO azure_every(flags) AS
    coalesce(list_bool_and(flags), true);

CREATE OR REPLACE MACRO azure_counter(txt) AS
    coalesce(try_cast(txt AS BIGINT), CASE WHEN coalesce(txt, '') = '' THEN 0 END);

CREATE OR REPLACE MACRO azure_flow_state(code) AS
    CASE code WHEN 'B' THEN 'begin' WHEN 'C' THEN 'continuing' WHEN 'E' THEN 'end' WHEN 'D' THEN 'deny' END;

CREATE OR REPLACE MACRO azure_field_reason(label, ok, txt, wanted) AS
    CASE WHEN NOT coalesce(ok, false) THEN label || ': "' || coalesce(txt, '') || '" ' || wanted END;

CREATE OR REPLACE MACRO azure_endpoint_reasons(f, src_ip, dst_ip, src_port, dst_port) AS
    nullif(concat_ws('; ',
        azure_field_reason('source IP', src_ip IS NOT NULL, f[2], 'is not an IP address'),
        azure_field_reason('destination IP', dst_ip IS NOT NULL, f[3], 'is not an IP address'),
        azure_field_reason('source port', src_port BETWEEN 0 AND 65535, f[4], 'is not a port (0-65535)'),
        azure_field_reason('destination port', dst_port BETWEEN 0 AND 65535, f[5], 'is not a port (0-65535)')
    ), '');

CREATE OR REPLACE MACRO azure_counter_reasons(f, packets, bytes, reverse_packets, reverse_bytes, labels) AS
    nullif(concat_ws('; ',
        azure_field_reason(labels[1], packets >= 0, f[10], 'is not a non-negative integer'),
        azure_field_reason(labels[2], bytes >= 0, f[11], 'is not a non-negative integer'),
        azure_field_reason(labels[3], reverse_packets >= 0, f[12], 'is not a non-negative integer'),
        azure_field_reason(labels[4], reverse_bytes >= 0, f[13], 'is not a non-negative integer')
    ), '');

CREATE OR REPLACE MACRO azure_tuple_text(fields) AS
    array_to_string(list_transform(fields, x -> coalesce(x, '')), ',');
