-- IP address and CIDR functions as pure SQL macros (no inet extension: nothing may be loaded or
-- downloaded at run time). Flow records carry addresses as text; these macros validate them,
-- write them in one canonical form, and turn them into numbers for range joins.
--
--   ip_canonical(txt)    canonical text: IPv4 as given when it is a strict dotted quad; IPv6 in
--                        RFC 5952 form (lowercase, no leading zeros, longest run of two or more
--                        zero groups as '::', the first on ties; IPv4-mapped as ::ffff:a.b.c.d)
--   ip_family(txt)       4, 6 or NULL
--   ip_to_hex(txt)       8 or 32 lowercase hex digits of the address bytes
--   ip_to_uhugeint(txt)  the address as a number (IPv4 32-bit, IPv6 128-bit); compare within a family
--   ip_is_public(txt)    false inside the special-purpose ranges listed at ip_is_public below
--   cidr_family / cidr_prefix_len / cidr_start / cidr_end (cidr)
--                        a host address without /n is a /32 or /128; host bits below the prefix
--                        are allowed and masked off ('10.1.2.3/8' starts at 10.0.0.0)
--
-- Every macro returns NULL, never an error, for text that is not a valid address:
--   * IPv4 must be a strict dotted quad: four decimal octets 0-255 without leading zeros.
--     '010.1.1.1' is rejected because inet_aton() and older tools read a leading zero as octal
--     (010 = 8), so the text is ambiguous. The same rule applies to a dotted tail in IPv6.
--   * IPv6 zone ids ('fe80::1%eth0') are rejected: a zone names an interface on one host, is not
--     part of the address bytes the Community ID hashes, and no other engine can join on it.
--     Strip it before calling if the zone does not matter: split_part(txt, '%', 1).
--   * No surrounding whitespace is trimmed, and prefix lengths are decimal without leading zeros.
--
-- Speed: the pipeline calls these on tens of millions of rows, so the cost of each DuckDB
-- function call per row (tens of nanoseconds) is what matters:
--   * IPv4, the bulk, is one regular expression plus one string_split cast and a few integer
--     operations, with no CASE around it. DuckDB's common-subexpression pass does not count
--     expressions inside CASE (or AND/OR), so keeping the IPv4 work outside lets one parse serve
--     ip_canonical, ip_to_hex and community_id_v1 of the same column in one SELECT. `x // ok`
--     (ok a 0/1 flag) makes a result NULL because DuckDB's integer division by zero yields NULL;
--     it stands in for CASE for that reason.
--   * IPv6 sits inside CASE WHEN contains(txt, ':'). Text already in RFC 5952 form (what flow
--     logs and the agent write) is recognised by two regular expressions and returned as is;
--     other text is expanded with list and string functions and bound by single-element list
--     lambdas, one after the other. Avoided on purpose: regexp_replace with the 'g' flag and
--     printf (each about a microsecond per call), and a lambda inside another lambda's body.

-- strict dotted quad, every octet 0-255 without leading zeros
CREATE OR REPLACE MACRO _ip4_ok(txt) AS
    regexp_full_match(txt, '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}');

-- the 32-bit value of a strict dotted quad as UBIGINT, else NULL
CREATE OR REPLACE MACRO _ip4_octets(txt) AS
    try_cast(string_split(txt, '.') AS UTINYINT[]);

CREATE OR REPLACE MACRO _ip4_u32(txt) AS
    (((_ip4_octets(txt)[1])::UBIGINT << 24)
        | ((_ip4_octets(txt)[2])::UBIGINT << 16)
        | ((_ip4_octets(txt)[3])::UBIGINT << 8)
        | (_ip4_octets(txt)[4])::UBIGINT)
    // (_ip4_ok(txt))::UBIGINT;

-- false inside 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.2/24, 192.168/16,
-- 198.18/15, 198.51.100/24, 203.0.113/24 and 224/3 (multicast, reserved 240/4, broadcast)
CREATE OR REPLACE MACRO _ip4_u32_is_public_expr(u) AS
    NOT ((u >> 24) IN (0, 10, 127)
        OR (u >> 22) = 401
        OR (u >> 20) = 2753
        OR (u >> 17) = 25353
        OR (u >> 16) IN (43518, 49320)
        OR (u >> 8) IN (12582914, 12989284, 13303921)
        OR u >= 3758096384);

-- the same with u bound once (u is referenced nine times above: a large argument expression
-- would be copied into each reference and make every query that uses it slow to plan)
CREATE OR REPLACE MACRO _ip4_u32_is_public(u) AS
    list_transform([u], lambda _ip4_u: _ip4_u32_is_public_expr(_ip4_u))[1];

-- groups in an IPv6 text that has '::' (with no '::', a valid text gives 7)
CREATE OR REPLACE MACRO _ip6_ngroups(t) AS
    length(t) - length(replace(t, ':', '')) - starts_with(t, ':')::INTEGER - ends_with(t, ':')::INTEGER;

-- lowercase IPv6 text whose dotted IPv4 tail, if any, is rewritten as two hex groups
CREATE OR REPLACE MACRO _ip6_without_dotted_tail(t) AS
    list_transform([t], lambda _ip6_d:
        CASE WHEN contains(_ip6_d, '.') THEN
            left(_ip6_d, length(_ip6_d) - length(string_split(_ip6_d, ':')[-1]))
                || printf('%x:%x', _ip4_u32(string_split(_ip6_d, ':')[-1]) >> 16, _ip4_u32(string_split(_ip6_d, ':')[-1]) & 65535)
        ELSE _ip6_d END)[1];

-- the eight groups of a valid IPv6 text, lowercase and ':'-separated with '::' expanded
-- ('2001:DB8::1' -> '2001:db8:0:0:0:0:0:1'), else NULL
CREATE OR REPLACE MACRO _ip6_groups(txt) AS
    list_transform([_ip6_without_dotted_tail(lower(txt))], lambda _ip6_t:
        CASE WHEN regexp_full_match(_ip6_t,
                '([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?')
              AND _ip6_ngroups(_ip6_t) <= 7
        THEN trim(replace(_ip6_t, '::', ':' || repeat('0:', 8 - _ip6_ngroups(_ip6_t))), ':')
        END)[1];

-- 32 hex digits of an IPv6 text (lowercase, no dotted tail) that matched the syntax, else NULL.
-- Each group is left-padded to 4 digits and the empty groups around '::' become one 'z', which
-- is then replaced by the missing zeros; the lengths reject too many or too few groups. List and
-- string functions only: regexp_replace with a global flag costs microseconds per call.
CREATE OR REPLACE MACRO _ip6_hex_of_valid_text(v) AS
    list_transform([replace(replace(array_to_string(list_transform(string_split(v, ':'), lambda _ip6_q:
            CASE WHEN _ip6_q = '' THEN 'z' ELSE lpad(_ip6_q, 4, '0') END), ''), 'zz', 'z'), 'zz', 'z')],
        lambda _ip6_j:
        CASE WHEN length(_ip6_j) = 32 OR (length(_ip6_j) <= 29 AND contains(_ip6_j, 'z'))
            THEN replace(_ip6_j, 'z', repeat('0', 33 - length(_ip6_j)))
        END)[1];

CREATE OR REPLACE MACRO _ip6_hex(txt) AS
    _ip6_hex_of_valid_text(list_transform([_ip6_without_dotted_tail(lower(txt))], lambda _ip6_v:
        substr(_ip6_v, 1, length(_ip6_v) // regexp_full_match(_ip6_v,
            '([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:)*[0-9a-f]{1,4})?')::BIGINT))[1]);

-- true when the text is already RFC 5952 canonical (a sufficient test, cheap): lowercase groups
-- without leading zeros, no two explicit '0' groups in a row nor one next to '::', '::' standing
-- for at least two groups, and not IPv4-mapped (written dotted)
CREATE OR REPLACE MACRO _ip6_is_canonical_text(txt) AS
    regexp_full_match(txt,
        '((0|[1-9a-f][0-9a-f]{0,3}):){7}(0|[1-9a-f][0-9a-f]{0,3})|(((0|[1-9a-f][0-9a-f]{0,3}):)*(0|[1-9a-f][0-9a-f]{0,3}))?::(((0|[1-9a-f][0-9a-f]{0,3}):)*(0|[1-9a-f][0-9a-f]{0,3}))?')
    AND NOT regexp_matches(txt, '(^|:)0:(0(:|$)|:)|::0(:|$)')
    AND (NOT contains(txt, '::') OR _ip6_ngroups(txt) <= 6)
    AND NOT starts_with(txt, '::ffff:');

-- length of the longest run of '0' groups in ':g1:...:g8:' when it is two or more, else 0
CREATE OR REPLACE MACRO _ip6_zero_run(w) AS
    CASE
        WHEN strpos(w, ':0:0:0:0:0:0:0:0:') > 0 THEN 8
        WHEN strpos(w, ':0:0:0:0:0:0:0:') > 0 THEN 7
        WHEN strpos(w, ':0:0:0:0:0:0:') > 0 THEN 6
        WHEN strpos(w, ':0:0:0:0:0:') > 0 THEN 5
        WHEN strpos(w, ':0:0:0:0:') > 0 THEN 4
        WHEN strpos(w, ':0:0:0:') > 0 THEN 3
        WHEN strpos(w, ':0:0:') > 0 THEN 2
        ELSE 0
    END;

-- RFC 5952 text of the eight groups: leading zeros dropped, the longest run of two or more zero
-- groups (the first on ties) written '::', an IPv4-mapped address with a dotted tail. The stages
-- are single-element list lambdas one after the other (not nested), each binding one value.
CREATE OR REPLACE MACRO _ip6_text_of_groups(groups) AS
    list_transform([list_transform([':' || array_to_string(list_transform(string_split(groups, ':'), lambda _ip6_q:
            coalesce(nullif(ltrim(_ip6_q, '0'), ''), '0')), ':') || ':'], lambda _ip6_w:
        {'w': _ip6_w, 'k': _ip6_zero_run(_ip6_w), 'p': strpos(_ip6_w, left(':0:0:0:0:0:0:0:0:', 2 * _ip6_zero_run(_ip6_w) + 1))})[1]],
        lambda _ip6_s:
        CASE WHEN starts_with(_ip6_s.w, ':0:0:0:0:0:ffff:') THEN
            '::ffff:' || concat_ws('.',
                ('0x' || split_part(_ip6_s.w, ':', 8))::INTEGER >> 8, ('0x' || split_part(_ip6_s.w, ':', 8))::INTEGER & 255,
                ('0x' || split_part(_ip6_s.w, ':', 9))::INTEGER >> 8, ('0x' || split_part(_ip6_s.w, ':', 9))::INTEGER & 255)
        ELSE substr(_ip6_s.w, 2, greatest(_ip6_s.p - 2, 0))
            || left('::', 2 * (_ip6_s.k > 0)::INTEGER)
            || substr(_ip6_s.w, _ip6_s.p + 2 * _ip6_s.k + 1, greatest(length(_ip6_s.w) - _ip6_s.p - 2 * _ip6_s.k - 1, 0))
        END)[1];

CREATE OR REPLACE MACRO _ip6_hex_to_uhugeint(h) AS
    list_transform([h], lambda _ip6_x:
        (('0x' || left(_ip6_x, 16))::UBIGINT::UHUGEINT << 64) | ('0x' || right(_ip6_x, 16))::UBIGINT::UHUGEINT)[1];

-- false inside ::/128, ::1/128, fc00::/7, fe80::/10, ff00::/8, 2001:db8::/32; an IPv4-mapped
-- address (::ffff:0:0/96) is judged by its IPv4 address
CREATE OR REPLACE MACRO _ip6_hex_is_public(h) AS
    list_transform([h], lambda _ip6_p:
        CASE WHEN starts_with(_ip6_p, '00000000000000000000ffff')
            THEN _ip4_u32_is_public_expr(('0x' || right(_ip6_p, 8))::UBIGINT)
            ELSE NOT regexp_matches(_ip6_p, '^(0{31}[01]|f[cd]|fe[89ab]|ff|20010db8)')
        END)[1];

CREATE OR REPLACE MACRO ip_canonical(txt VARCHAR) AS
    coalesce(
        substr(txt, 1, length(txt) // (_ip4_ok(txt))::BIGINT),
        CASE
            WHEN NOT contains(txt, ':') THEN NULL
            WHEN _ip6_is_canonical_text(txt) THEN txt
            ELSE _ip6_text_of_groups(_ip6_groups(txt))
        END);

CREATE OR REPLACE MACRO ip_family(txt VARCHAR) AS
    coalesce(
        4 // (_ip4_ok(txt))::INTEGER,
        CASE WHEN contains(txt, ':') AND _ip6_hex(txt) IS NOT NULL THEN 6 END);

CREATE OR REPLACE MACRO ip_to_hex(txt VARCHAR) AS
    coalesce(
        lower(substr(hex(_ip4_u32(txt) | 4294967296), 2)),
        CASE WHEN contains(txt, ':') THEN _ip6_hex(txt) END);

CREATE OR REPLACE MACRO ip_to_uhugeint(txt VARCHAR) AS
    coalesce(
        (_ip4_u32(txt))::UHUGEINT,
        CASE WHEN contains(txt, ':') THEN _ip6_hex_to_uhugeint(_ip6_hex(txt)) END);

-- Special-purpose ranges (false): RFC 1918, 100.64/10 CGNAT, loopback, link-local (v4 and v6),
-- 0/8, multicast, 240/4 reserved and broadcast, ULA fc00::/7, ::1, ::, documentation
-- (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) and benchmarking 198.18/15.
-- Everything else valid is true, including other IANA special-purpose blocks this list leaves out
-- (192.0.0/24, 64:ff9b::/96, 2002::/16, 2001::/32): add them here and in lib/net/ip.ts together.
CREATE OR REPLACE MACRO ip_is_public(txt VARCHAR) AS
    coalesce(
        _ip4_u32_is_public(_ip4_u32(txt)),
        CASE WHEN contains(txt, ':') THEN _ip6_hex_is_public(_ip6_hex(txt)) END);

-- family, prefix length and bounds of a CIDR text as one struct (NULL when the CIDR is invalid),
-- so that the address is parsed once. The stages are single-element list lambdas one after the
-- other, each passing a struct on: these macros are expanded into every rule that tests a range,
-- and a value referenced several times would otherwise be copied (and planned) as often.
CREATE OR REPLACE MACRO _cidr_info(cidr) AS
    list_transform([list_transform([list_transform([ip_to_hex(split_part(cidr, '/', 1))], lambda _cidr_h:
            {'h': _cidr_h, 'bits': CASE length(_cidr_h) WHEN 8 THEN 32 WHEN 32 THEN 128 END})[1]], lambda _cidr_a:
        {'bits': _cidr_a.bits,
         'len': CASE
                WHEN NOT contains(cidr, '/') THEN _cidr_a.bits
                WHEN regexp_full_match(cidr, '[^/]+/(0|[1-9][0-9]{0,2})')
                    AND try_cast(split_part(cidr, '/', 2) AS INTEGER) <= _cidr_a.bits
                THEN try_cast(split_part(cidr, '/', 2) AS INTEGER)
            END,
         'value': CASE _cidr_a.bits
                WHEN 32 THEN ('0x' || _cidr_a.h)::UBIGINT::UHUGEINT
                WHEN 128 THEN (('0x' || left(_cidr_a.h, 16))::UBIGINT::UHUGEINT << 64) | ('0x' || right(_cidr_a.h, 16))::UBIGINT::UHUGEINT
            END})[1]], lambda _cidr_b:
        CASE WHEN _cidr_b.len IS NOT NULL THEN {
            'family': CASE _cidr_b.bits WHEN 32 THEN 4 ELSE 6 END,
            'prefix_len': _cidr_b.len,
            'start': _cidr_b.value & ~(CASE _cidr_b.bits WHEN 32 THEN 4294967295::UHUGEINT ELSE ~(0::UHUGEINT) END >> _cidr_b.len::UHUGEINT),
            'end': _cidr_b.value | (CASE _cidr_b.bits WHEN 32 THEN 4294967295::UHUGEINT ELSE ~(0::UHUGEINT) END >> _cidr_b.len::UHUGEINT)}
        END)[1];

CREATE OR REPLACE MACRO cidr_family(cidr VARCHAR) AS _cidr_info(cidr).family;

CREATE OR REPLACE MACRO cidr_prefix_len(cidr VARCHAR) AS _cidr_info(cidr).prefix_len;

CREATE OR REPLACE MACRO cidr_start(cidr VARCHAR) AS _cidr_info(cidr).start;

CREATE OR REPLACE MACRO cidr_end(cidr VARCHAR) AS _cidr_info(cidr).end;
