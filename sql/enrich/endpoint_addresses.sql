-- grain: one row per distinct address seen at either end of a flow of the hour
-- keys: ip
-- upstream: flows_in_hour
-- materialized: table
-- tests: not_null(ip, family, ip_value)
--
-- Enrichment works on distinct addresses (far fewer than flows) and joins back once. Unique by
-- construction (UNION, not UNION ALL): no unique test, which would group the addresses a second
-- time (0.6 s at 5 million flows, where most of 3 million addresses are distinct).
select
    ip,
    ip_family(ip) as family,
    ip_to_uhugeint(ip) as ip_value,
    ip_is_public(ip) as is_public
from (
    select src_ip as ip from flows_in_hour
    union
    select dst_ip as ip from flows_in_hour
)
