-- alert_samples(...): up to three flows of an alert, earliest first, as the JSON text of the
-- alerts.sample_flows column; an aggregate over the alert's group (marts/alerts.sql: rule alerts
-- and late-data alerts show the same sample shape).
CREATE OR REPLACE MACRO alert_samples(flow_id, start_at, end_at, src_port, protocol, action, packets, bytes, source_type, raw_object_key) AS
    -- min_by with a count keeps the three smallest (start_at, flow_id) per group, in that order,
    -- without sorting every group's rows: list(... ORDER BY ...)[1:3] cost ~20 CPU µs a group
    -- (0.32 s for the 14,000 one-flow alerts of the 1M benchmark, against 0.06 s).
    cast(to_json(min_by(
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
        },
        {'start_at': start_at, 'flow_id': flow_id},
        3
    )) as varchar);

