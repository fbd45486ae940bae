-- network_key(ip_value, family, prefix_len): the address shifted right past its host bits, so two
-- addresses share a key exactly when they are in the same /prefix_len network. The longest-prefix
-- match (enrich/endpoint_ranges.sql) equi-joins on it. A /0 has no network bits: its key is 0.
CREATE OR REPLACE MACRO network_key(ip_value, family, prefix_len) AS
    CASE
        WHEN (CASE family WHEN 4 THEN 32 ELSE 128 END) - prefix_len >= 128 THEN 0::UHUGEINT
        ELSE ip_value::UHUGEINT >> ((CASE family WHEN 4 THEN 32 ELSE 128 END) - prefix_len)::UHUGEINT
    END;
