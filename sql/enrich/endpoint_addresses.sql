-- grain: one row per distinct address seen at either end of a flow of the hour
-- keys: ip
-- upstream: flows_in_hour
-- materialized: table
-- tests: not_null(ip, family, ip_value); unique(ip)
--
-- Enrichment works on distinct addresses (far fewer than flows) and joins back once.
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
