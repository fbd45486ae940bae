-- connection_partition(...): a 64-bit hash of a record's 5-tuple with its two ends in a fixed
-- order, so that a request and its answer (the reversed tuple) hash alike. A commit split into
-- parts (lib/scale-out/model-cut.ts) gives each part one range of it: every record that
-- enrich/connection_observations.sql may compare with another (same tuple, or its answer) lands
-- in the same part. No hour in it, unlike connection_key: the parts split one hour.
CREATE OR REPLACE MACRO connection_partition(src_ip, src_port, dst_ip, dst_port, protocol) AS
    CASE
        WHEN src_ip < dst_ip OR (src_ip = dst_ip AND coalesce(src_port, -1) <= coalesce(dst_port, -1))
            THEN hash(protocol, src_ip, src_port, dst_ip, dst_port)
        ELSE hash(protocol, dst_ip, dst_port, src_ip, src_port)
    END;
