-- connection_key(...): the connection a flow record belongs to, for counting connections rather
-- than records (docs/sources.md, "Counted once"): its 5-tuple with the two ends in a fixed order,
-- within the hour of its start. Every record of one connection in the hour has it, whoever
-- observed it and however the observer cut it up: an Azure session's begin, continuing and end
-- tuples (B, C, E), an agent's or a flow log's record per interval, another observer's record of
-- the same packets, and the answer's own record (a request and its answer are one connection, as
-- they share one Community ID). Addresses a NAT rewrote are another connection. A source port
-- reused within the hour for a new connection to the same destination is not told apart.
CREATE OR REPLACE MACRO connection_key(src_ip, src_port, dst_ip, dst_port, protocol, start_at) AS
    strftime(date_trunc('hour', start_at), '%Y-%m-%dT%H') || '|' || coalesce(cast(protocol AS VARCHAR), '-') || '|' ||
    CASE
        WHEN src_ip < dst_ip OR (src_ip = dst_ip AND coalesce(src_port, -1) <= coalesce(dst_port, -1))
            THEN src_ip || '|' || coalesce(cast(src_port AS VARCHAR), '-') || '|' || dst_ip || '|' || coalesce(cast(dst_port AS VARCHAR), '-')
        ELSE dst_ip || '|' || coalesce(cast(dst_port AS VARCHAR), '-') || '|' || src_ip || '|' || coalesce(cast(src_port AS VARCHAR), '-')
    END;
