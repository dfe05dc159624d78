/**
 * Classifies an IP address string from an event: invalid (with a reason), internal (a
 * special-purpose address: never sent to any reputation provider) or public, always with the
 * canonical form (dotted quad; RFC 5952 for IPv6) that is the only form ever put into a URL or a
 * cache key.
 *
 * The table follows the IANA IPv4 and IPv6 Special-Purpose Address Registries, read by their
 * "Globally Reachable" column: an address that is not globally reachable is internal; the few
 * globally reachable assignments inside special blocks (AS112, AMT, the PCP/TURN/DNS-SD anycast
 * addresses, ORCHIDv2, drone remote ID) are public. Where the registry says "N/A" we decide:
 *
 * - IPv4-mapped `::ffff:a.b.c.d` and deprecated IPv4-compatible `::a.b.c.d` are unwrapped first and
 *   classified as the IPv4 address they carry (a dual-stack socket reports an IPv4 peer that way;
 *   ipaddr.js already reads `::a.b.c.d` as mapped, so `::808:808` is treated the same for
 *   consistency). `::` and `::1` stay unspecified/loopback.
 * - NAT64 well-known prefix `64:ff9b::/96` (RFC 6052, globally reachable): a connection to it is a
 *   connection to the embedded IPv4 host through a translator, so it is unwrapped like a mapped
 *   address. The local-use prefix `64:ff9b:1::/48` (RFC 8215) is internal.
 * - Teredo `2001::/32`: internal. The address belongs to a relay, the client's IPv4 is obfuscated
 *   in it, and no provider keeps reputation for Teredo addresses; sending it would leak without
 *   informing. (The protocol is effectively retired.)
 * - 6to4 `2002::/16` (deprecated by RFC 7526): internal when the embedded IPv4 is special-purpose
 *   (e.g. `2002:c0a8::/32` = 192.168/16), otherwise a public IPv6 address.
 * - Everything in IPv6 outside global unicast `2000::/3` that is not listed above is internal
 *   ("reserved"): IANA has allocated nothing routable there.
 * - IPv4 `192.0.0.0/24` is internal as a whole, including the anycast /32s in it (nothing to learn
 *   about them from a reputation provider); `192.88.99.0/24` (the deprecated 6to4 relay anycast) too.
 *
 * Parsing is ipaddr.js's; on top, input is restricted to unambiguous forms: IPv4 must be four
 * decimal parts without leading zeros (`127.1`, `0x7f.0.0.1` and `010.0.0.1` mean different
 * things to different parsers, so an attacker could use them to disagree with us), the same for
 * an IPv4 tail inside IPv6, at most 64 characters, no CIDR suffix. A zone index (`fe80::1%eth0`)
 * is dropped: it has no meaning off the host.
 */
import ipaddr from "ipaddr.js";

export type SpecialRange =
  | "this-network" | "private-use" | "shared-address-space" | "loopback" | "link-local" | "ietf-protocol-assignments"
  | "documentation" | "deprecated-6to4-relay-anycast" | "benchmarking" | "multicast" | "reserved" | "limited-broadcast"
  | "unspecified" | "nat64-local-use" | "discard-only" | "dummy-prefix" | "teredo" | "orchid-deprecated"
  | "segment-routing-sid" | "unique-local" | "site-local-deprecated" | "6to4-embedded-special";

/** How an address was rewritten to the one it denotes. */
export type Unwrapped = "ipv4-mapped" | "ipv4-compatible" | "nat64";

export type IpClassification =
  | {
    readonly valid: true;
    /** Canonical form (after unwrapping). */
    readonly ip: string;
    readonly version: 4 | 6;
    readonly internal: true;
    readonly range: SpecialRange;
    readonly unwrapped?: Unwrapped;
  }
  | {
    readonly valid: true;
    readonly ip: string;
    readonly version: 4 | 6;
    readonly internal: false;
    readonly unwrapped?: Unwrapped;
  }
  | { readonly valid: false; readonly reason: string };

/** Longest accepted input ("ffff:...:255.255.255.255" is 45 characters, plus a zone index). */
export const MAX_IP_CHARS = 64;

type V4 = ipaddr.IPv4;
type V6 = ipaddr.IPv6;
interface RangeRow<A> {
  readonly net: readonly [A, number];
  /** null: a globally reachable assignment inside a special block (public). */
  readonly range: SpecialRange | null;
}

const v4 = (cidr: string, range: SpecialRange | null): RangeRow<V4> => ({ net: ipaddr.IPv4.parseCIDR(cidr), range });
const v6 = (cidr: string, range: SpecialRange | null): RangeRow<V6> => ({ net: ipaddr.IPv6.parseCIDR(cidr), range });

/** First match wins, so globally reachable exceptions come before the blocks that hold them. */
const V4_TABLE: readonly RangeRow<V4>[] = [
  v4("0.0.0.0/8", "this-network"),
  v4("10.0.0.0/8", "private-use"),
  v4("100.64.0.0/10", "shared-address-space"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local"), // includes the cloud metadata service 169.254.169.254
  v4("172.16.0.0/12", "private-use"),
  v4("192.0.0.0/24", "ietf-protocol-assignments"),
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "deprecated-6to4-relay-anycast"),
  v4("192.168.0.0/16", "private-use"),
  v4("198.18.0.0/15", "benchmarking"),
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("255.255.255.255/32", "limited-broadcast"),
  v4("240.0.0.0/4", "reserved"),
];

const V6_TABLE: readonly RangeRow<V6>[] = [
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("64:ff9b:1::/48", "nat64-local-use"),
  v6("100::/64", "discard-only"),
  v6("100:0:0:1::/64", "dummy-prefix"),
  // Globally reachable assignments inside 2001::/23 (IANA).
  v6("2001:1::1/128", null), // Port Control Protocol anycast
  v6("2001:1::2/128", null), // TURN anycast
  v6("2001:1::3/128", null), // DNS-SD service registration protocol anycast
  v6("2001:3::/32", null), // AMT
  v6("2001:4:112::/48", null), // AS112-v6
  v6("2001:20::/28", null), // ORCHIDv2
  v6("2001:30::/28", null), // drone remote ID entity tags
  v6("2001::/32", "teredo"),
  v6("2001:2::/48", "benchmarking"),
  v6("2001:10::/28", "orchid-deprecated"),
  v6("2001::/23", "ietf-protocol-assignments"),
  v6("2001:db8::/32", "documentation"),
  v6("3fff::/20", "documentation"),
  v6("5f00::/16", "segment-routing-sid"),
  v6("fc00::/7", "unique-local"),
  v6("fe80::/10", "link-local"),
  v6("fec0::/10", "site-local-deprecated"),
  v6("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR("2002::/16");
const NAT64_WKP = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96");
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/;

/** Classifies one value from an event. Never throws. */
export function classifyIp(input: unknown): IpClassification {
  if (typeof input !== "string") return invalid(`not a string (${input === null ? "null" : typeof input})`);
  if (input.length > MAX_IP_CHARS * 2) return invalid(`longer than ${MAX_IP_CHARS} characters`);
  const text = input.trim();
  if (text === "") return invalid("empty");
  if (text.length > MAX_IP_CHARS) return invalid(`longer than ${MAX_IP_CHARS} characters`);
  if (text.includes("/")) return invalid("a CIDR range or path, not an address");
  const parsed = parseStrict(text);
  if (typeof parsed === "string") return invalid(parsed);
  return classifyParsed(parsed);
}

/** Whether a value is a valid, public (not special-purpose) address. */
export function isPublicIp(input: unknown): boolean {
  const c = classifyIp(input);
  return c.valid && !c.internal;
}

/**
 * Parses an unambiguous address with ipaddr.js, or returns why not. Shared with the list loader
 * (lib/triage/reputation/cidr-set.ts), so lists and events read addresses the same way.
 */
export function parseStrict(text: string): V4 | V6 | string {
  if (text.includes(":")) {
    if (!ipaddr.IPv6.isValid(text)) return "not an IPv4 or IPv6 address";
    const withoutZone = text.replace(/%.*$/, "");
    if (withoutZone.includes(".")) {
      const tail = withoutZone.slice(withoutZone.lastIndexOf(":") + 1);
      if (!isDottedQuad(tail)) return "the IPv4 part of an IPv6 address must be four decimal parts without leading zeros";
    }
    const addr = ipaddr.IPv6.parse(text);
    // The zone index only scopes a link-local address on one host; the address is what we classify.
    return addr.zoneId === undefined ? addr : new ipaddr.IPv6(addr.parts);
  }
  if (!DOTTED_QUAD.test(text)) {
    return ipaddr.IPv4.isValid(text)
      ? "ambiguous IPv4 form: use four decimal parts without leading zeros"
      : "not an IPv4 or IPv6 address";
  }
  // The shape is checked; ipaddr.js reads the parts (as decimal: none has a leading zero) and range-checks them.
  try {
    return ipaddr.IPv4.parse(text);
  } catch {
    return "not an IPv4 or IPv6 address";
  }
}

function isDottedQuad(text: string): boolean {
  return DOTTED_QUAD.test(text) && ipaddr.IPv4.isValid(text);
}

/** Classifies a parsed address (the list loader and the CIDR structure call this too). */
export function classifyParsed(addr: V4 | V6): IpClassification {
  if (addr.kind() === "ipv4") return classifyV4(addr as V4);
  const a = addr as V6;
  if (a.isIPv4MappedAddress()) return classifyV4(a.toIPv4Address(), "ipv4-mapped");
  const part = (i: number): number => a.parts[i] ?? 0;
  if (a.match(IPV4_COMPATIBLE) && !(part(6) === 0 && (part(7) === 0 || part(7) === 1))) {
    return classifyV4(v4FromParts(part(6), part(7)), "ipv4-compatible");
  }
  if (a.match(NAT64_WKP)) return classifyV4(v4FromParts(part(6), part(7)), "nat64");
  const ip = a.toRFC5952String();
  for (const row of V6_TABLE) {
    if (a.match(row.net[0], row.net[1])) {
      return row.range === null ? { valid: true, ip, version: 6, internal: false } : { valid: true, ip, version: 6, internal: true, range: row.range };
    }
  }
  if (a.match(SIX_TO_FOUR)) {
    const embedded = classifyV4(v4FromParts(part(1), part(2)));
    if (embedded.valid && embedded.internal) return { valid: true, ip, version: 6, internal: true, range: "6to4-embedded-special" };
    return { valid: true, ip, version: 6, internal: false };
  }
  if (!a.match(GLOBAL_UNICAST)) return { valid: true, ip, version: 6, internal: true, range: "reserved" };
  return { valid: true, ip, version: 6, internal: false };
}

function classifyV4(a: V4, unwrapped?: Unwrapped): IpClassification {
  const ip = a.toString();
  const how = unwrapped === undefined ? {} : { unwrapped };
  for (const row of V4_TABLE) {
    if (row.range !== null && a.match(row.net[0], row.net[1])) return { valid: true, ip, version: 4, internal: true, range: row.range, ...how };
  }
  return { valid: true, ip, version: 4, internal: false, ...how };
}

function v4FromParts(high: number, low: number): V4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function invalid(reason: string): IpClassification {
  return { valid: false, reason };
}
