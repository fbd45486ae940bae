/**
 * Link-layer header types (LINKTYPE_* from tcpdump.org/linktypes.html) that the decoder understands.
 * To add one: give it a constant here and a case in `ipOffset()` of packet-decoder.ts that returns
 * the offset of the IP header and the EtherType-style protocol found there.
 */
export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in the capturing host's byte order
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101; // raw IPv4 or IPv6, version in the first nibble
export const LINKTYPE_RAW_OPENBSD = 14; // DLT_RAW on OpenBSD
export const LINKTYPE_RAW_BSD = 12; // DLT_RAW on most BSDs
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: like NULL but always big-endian
export const LINKTYPE_LINUX_SLL = 113; // Linux cooked capture v1 (`tcpdump -i any`)
export const LINKTYPE_LINUX_SLL2 = 276; // Linux cooked capture v2
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
