-- Community ID v1 (corelight/community-id-spec) as SQL macros, so every flow carries the same
-- flow hash that Zeek, Suricata and Elastic compute and analysts can join across tools.
--
--   community_id_v1(src_ip, dst_ip, src_port, dst_port, proto)        seed 0
--   community_id_v1_seeded(seed, src_ip, dst_ip, src_port, dst_port, proto)
--
-- '1:' || base64(sha1(seed . addr_a . addr_b . proto . 0x00 . port_a . port_b)), with the seed and
-- the ports as 2 bytes big-endian, the addresses as their 4 or 16 bytes, the protocol as 1 byte
-- and one padding byte. The endpoints are ordered so that the smaller (address, port) comes
-- first, which gives both directions of a flow the same id. Ports are hashed only for TCP (6),
-- UDP (17), SCTP (132), ICMP (1) and ICMPv6 (58). For ICMP and ICMPv6, src_port is the message
-- type and dst_port the code: a type that has a counterpart (echo / echo reply, ...) hashes as
-- (type, counterpart) and is ordered like ports; any other type is one-way, hashed as
-- (type, code) in the direction given. The table is the one in pycommunityid (icmp.py, icmp6.py),
-- mirrored by ICMP_COUNTERPARTS in lib/net/community-id.ts; a test checks both agree on all types.
--
-- NULL, never an error, when: either address is invalid (see 00_ip.sql: strict IPv4, no zone
-- ids), the two addresses are of different families (no packet has that; the spec leaves it
-- undefined), a port-carrying protocol has a NULL port, a port is outside 0-65535, the protocol
-- is outside 0-255, or the seed is outside 0-65535. Ports, protocol and seed are untyped so that
-- INTEGER, BIGINT and USMALLINT columns all work without casts.
--
-- Speed: IPv4 pairs (the bulk of flows) are ordered and laid out with integer arithmetic only:
-- (address << 16 | port) per endpoint, least/greatest, and three hex() calls with a sentinel bit
-- that substr cuts off (hex drops leading zeros). The one-way ICMP case sets bit 50 of the
-- destination key so that the source stays first without a CASE; no CASE surrounds the IPv4
-- work, so DuckDB shares each address parse with ip_canonical of the same SELECT. Pairs with an
-- IPv6 address take a text path (hex digits compared as text), evaluated only for those rows. sha1(), unhex() and to_base64() are DuckDB's own
-- and are most of the cost of an IPv4 pair (see bench/ip-macros-bench.ts).

CREATE OR REPLACE MACRO _cid_has_ports(proto) AS
    proto IN (1, 6, 17, 58, 132);

-- the counterpart type of a two-way ICMP (1) or ICMPv6 (58) message type, NULL when one-way
CREATE OR REPLACE MACRO _cid_icmp_counterpart(proto, msg_type) AS
    CASE
        WHEN proto = 1 THEN CASE msg_type
            WHEN 8 THEN 0 WHEN 0 THEN 8          -- echo, echo reply
            WHEN 13 THEN 14 WHEN 14 THEN 13      -- timestamp, timestamp reply
            WHEN 15 THEN 16 WHEN 16 THEN 15      -- information request, reply
            WHEN 10 THEN 9 WHEN 9 THEN 10        -- router solicitation, advertisement
            WHEN 17 THEN 18 WHEN 18 THEN 17      -- address mask request, reply
        END
        WHEN proto = 58 THEN CASE msg_type
            WHEN 128 THEN 129 WHEN 129 THEN 128  -- echo request, reply
            WHEN 130 THEN 131 WHEN 131 THEN 130  -- multicast listener query, report
            WHEN 133 THEN 134 WHEN 134 THEN 133  -- router solicitation, advertisement
            WHEN 135 THEN 136 WHEN 136 THEN 135  -- neighbor solicitation, advertisement
            WHEN 139 THEN 140 WHEN 140 THEN 139  -- node information query, response
            WHEN 144 THEN 145 WHEN 145 THEN 144  -- home agent address discovery request, reply
        END
    END;

-- the port-like values hashed for each side: 0 for protocols without ports
CREATE OR REPLACE MACRO _cid_src_port(proto, src_port) AS
    CASE WHEN _cid_has_ports(proto) THEN try_cast(src_port AS USMALLINT) ELSE 0 END;

CREATE OR REPLACE MACRO _cid_dst_port(proto, src_port, dst_port) AS
    CASE
        WHEN proto IN (1, 58) THEN coalesce(
            _cid_icmp_counterpart(proto, try_cast(src_port AS USMALLINT)) + try_cast(dst_port AS USMALLINT) * 0,
            try_cast(dst_port AS USMALLINT))
        WHEN _cid_has_ports(proto) THEN try_cast(dst_port AS USMALLINT)
        ELSE 0
    END;

CREATE OR REPLACE MACRO _cid_one_way(proto, src_port) AS
    proto IN (1, 58) AND _cid_icmp_counterpart(proto, try_cast(src_port AS USMALLINT)) IS NULL;

-- '1:' + base64(sha1(bytes of the hex text))
CREATE OR REPLACE MACRO _cid_render(hex_input) AS
    '1:' || to_base64(unhex(sha1(unhex(hex_input))));

-- IPv4 pair from the two endpoint keys (address << 16 | port; bit 50 of key_b set for one-way).
-- least() ignores NULLs, so (key_a + key_b) * 0 carries a NULL key into the result. The keys are
-- referenced five times each, which DuckDB's common-subexpression pass computes once; binding them
-- with a list lambda instead plans faster (about 20 ms instead of 150 ms) but runs about 12 %
-- slower per row, and rows are what count here.
CREATE OR REPLACE MACRO _cid_v4_from_keys(seed, key_a, key_b, proto) AS
    _cid_render(
        substr(hex(((try_cast(seed AS USMALLINT))::UBIGINT << 32)
                   | (least(key_a, key_b) >> 16)
                   | ((key_a + key_b) * 0)
                   | 281474976710656), 2)
        || substr(hex((((greatest(key_a, key_b) >> 16) & 4294967295) << 16)
                      | ((try_cast(proto AS UTINYINT))::UBIGINT << 8)
                      | 281474976710656), 2)
        || substr(hex(((least(key_a, key_b) & 65535) << 16)
                      | (greatest(key_a, key_b) & 65535)
                      | 4294967296), 2, 8 * (_cid_has_ports(proto))::BIGINT));

CREATE OR REPLACE MACRO _cid_v4(seed, src_ip, dst_ip, src_port, dst_port, proto) AS
    _cid_v4_from_keys(seed,
        (_ip4_u32(src_ip) << 16) | (_cid_src_port(proto, src_port))::UBIGINT,
        (_ip4_u32(dst_ip) << 16) | (_cid_dst_port(proto, src_port, dst_port))::UBIGINT
            | ((_cid_one_way(proto, src_port))::UBIGINT << 50),
        proto);

-- hex input of one ordered pair of keys (32 hex digits of the address, 4 of the port)
CREATE OR REPLACE MACRO _cid_v6_input(seed, key_a, key_b, proto) AS
    substr(hex((try_cast(seed AS USMALLINT))::UINTEGER | 65536), 2) || left(key_a, 32) || left(key_b, 32)
        || substr(hex((try_cast(proto AS UTINYINT))::USMALLINT | 256), 2) || '00'
        || CASE WHEN _cid_has_ports(proto) THEN right(key_a, 4) || right(key_b, 4) ELSE '' END;

-- IPv6 pair: the two keys are bound once by a single-element list lambda and compared as text.
-- (A lambda nested in another lambda's body runs far slower in DuckDB, so there is only one.)
CREATE OR REPLACE MACRO _cid_v6(seed, src_ip, dst_ip, src_port, dst_port, proto) AS
    _cid_render(list_transform([[
            _ip6_hex(src_ip) || lower(substr(hex((_cid_src_port(proto, src_port))::UINTEGER | 65536), 2)),
            _ip6_hex(dst_ip) || lower(substr(hex((_cid_dst_port(proto, src_port, dst_port))::UINTEGER | 65536), 2))]], lambda _cid_k:
        CASE WHEN _cid_one_way(proto, src_port) OR _cid_k[1] <= _cid_k[2]
            THEN _cid_v6_input(seed, _cid_k[1], _cid_k[2], proto)
            ELSE _cid_v6_input(seed, _cid_k[2], _cid_k[1], proto)
        END)[1]);

-- the text when it may be IPv6 (has a ':'), else NULL
CREATE OR REPLACE MACRO _cid_ip6_only(txt) AS
    substr(txt, 1, length(txt) // contains(txt, ':')::BIGINT);

-- coalesce evaluates the IPv6 path only for rows the IPv4 path left NULL. Its inputs are NULL
-- unless the text has a ':' (rather than a CASE around it: lambdas under a CASE ran about 25 %
-- slower in the benchmark).
CREATE OR REPLACE MACRO community_id_v1_seeded(seed, src_ip VARCHAR, dst_ip VARCHAR, src_port, dst_port, proto) AS
    coalesce(
        _cid_v4(seed, src_ip, dst_ip, src_port, dst_port, proto),
        _cid_v6(seed, _cid_ip6_only(src_ip), _cid_ip6_only(dst_ip), src_port, dst_port, proto));

CREATE OR REPLACE MACRO community_id_v1(src_ip VARCHAR, dst_ip VARCHAR, src_port, dst_port, proto) AS
    community_id_v1_seeded(0, src_ip, dst_ip, src_port, dst_port, proto);
