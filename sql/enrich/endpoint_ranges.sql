-- grain: one row per address of the hour that falls in at least one known range
-- keys: ip
-- upstream: endpoint_addresses, ref_ip_ranges
-- materialized: table
-- tests: not_null(ip, cidr, range_name, prefix_len); unique(ip)
--
-- Longest prefix wins. Instead of a range join (a nested loop at a million ranges), each
-- address is masked once per prefix length that occurs in the range table and equi-joined on
-- (family, prefix length, network): a hash join whose cost grows with the number of distinct
-- prefix lengths (at most 33 + 129), not with the number of ranges.
with

prefix_lengths as (
    select distinct family, prefix_len from ref_ip_ranges
),

candidates as (
    select
        a.ip,
        a.family,
        p.prefix_len,
        network_key(a.ip_value, a.family, p.prefix_len) as network
    from endpoint_addresses as a
    inner join prefix_lengths as p on a.family = p.family
),

matches as (
    select
        c.ip,
        r.cidr,
        r.range_name,
        r.tags,
        r.segment,
        r.prefix_len,
        row_number() over (partition by c.ip order by r.prefix_len desc, r.range_name, r.cidr) as preference
    from candidates as c
    inner join ref_ip_ranges as r
        on c.family = r.family
        and c.prefix_len = r.prefix_len
        and c.network = r.network
)

select ip, cidr, range_name, tags, segment, prefix_len
from matches
where preference = 1
