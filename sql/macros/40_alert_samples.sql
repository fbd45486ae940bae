-- alert_samples(...): up to three flows of an alert, earliest first, as the JSON text of the
-- alerts.sample_flows column; an aggregate over the alert's group (marts/alerts.sql: rule alerts
-- and late-data alerts show the same sample shape).
CREATE OR REPLACE MACRO alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) AS
    cast(to_json(list(
        {
            'flow_id': flow_id,
            'start_at': strftime(start_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
            'end_at': strftime(end_at, '%Y-%m-%dT%H:%M:%S.%gZ'),
            'src_port': src_port,
            'protocol': protocol,
            'action': action,
            'packets': packets,
            'bytes': bytes,
            'source_type': source_type,
            'raw_object_key': raw_object_key
        }
        order by start_at, flow_id
    )[1:3]) as varchar);
