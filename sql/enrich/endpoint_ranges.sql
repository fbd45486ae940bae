-- grain: one row per address of the hour that falls in at least one known range
-- keys: ip
-- upstream: endpoint_addresses, ref_ip_networks
-- materialized: table
-- tests: not_null(ip, cidr, range_name, prefix_len); unique(ip)
--
-- Longest prefix wins. Instead of a range join (a nested loop at a million ranges), each
-- address is masked once per prefix length that occurs in the range table and equi-joined on
-- (family, prefix length, network): a hash join whose cost grows with the number of distinct
-- prefix lengths (at most 33 + 129), not with the number of ranges. ref_ip_networks holds one
-- range per network (lib/reference/reference-data.ts), so an address has at most one match per
-- prefix length, however many files repeat a network.
with

prefix_lengths as (
    select distinct family, prefix_len from ref_ip_networks
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
        r.prefix_len
    from candidates as c
    inner join ref_ip_networks as r
        on c.family = r.family
        and c.prefix_len = r.prefix_len
        and c.network = r.network
)

select
    ip,
    arg_max(cidr, prefix_len) as cidr,
    arg_max(range_name, prefix_len) as range_name,
    arg_max(tags, prefix_len) as tags,
    arg_max_null(segment, prefix_len) as segment,
    max(prefix_len) as prefix_len
from matches
group by ip
