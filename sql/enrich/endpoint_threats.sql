-- grain: one row per address of the hour that is on at least one threat list
-- keys: ip
-- upstream: endpoint_addresses, ref_threat_entries
-- materialized: table
-- tests: not_null(ip, threat_lists); unique(ip)
--
-- Every list containing the address counts (not only the longest prefix). Same plan as
-- endpoint_ranges: mask each address once per prefix length present in the lists and equi-join
-- on (family, prefix length, network), a hash join however long the lists are.
with

prefix_lengths as (
    select distinct family, prefix_len from ref_threat_entries
),

candidates as (
    select
        a.ip,
        a.family,
        p.prefix_len,
        network_key(a.ip_value, a.family, p.prefix_len) as network
    from endpoint_addresses as a
    inner join prefix_lengths as p on a.family = p.family
)

select
    c.ip,
    list_sort(list_distinct(list(t.list_name))) as threat_lists
from candidates as c
inner join ref_threat_entries as t
    on c.family = t.family
    and c.prefix_len = t.prefix_len
    and c.network = t.network
group by c.ip
