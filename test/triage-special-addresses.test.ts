import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyIp, isPublicIp, type IpClassification } from "../lib/triage/special-addresses.js";

/**
 * The registry as the test reads it: CIDR, expected classification (a range name, or "public" for
 * a globally reachable assignment inside a special block). Order matters (first match), as in the
 * IANA registries where an exception sits inside a larger block.
 */
const V4_RANGES: readonly (readonly [string, string])[] = [
  ["0.0.0.0/8", "this-network"],
  ["10.0.0.0/8", "private-use"],
  ["100.64.0.0/10", "shared-address-space"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private-use"],
  ["192.0.0.0/24", "ietf-protocol-assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "deprecated-6to4-relay-anycast"],
  ["192.168.0.0/16", "private-use"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "limited-broadcast"],
  ["240.0.0.0/4", "reserved"],
];

const V6_RANGES: readonly (readonly [string, string])[] = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["64:ff9b:1::/48", "nat64-local-use"],
  ["100::/64", "discard-only"],
  ["100:0:0:1::/64", "dummy-prefix"],
  ["2001:1::1/128", "public"],
  ["2001:1::2/128", "public"],
  ["2001:1::3/128", "public"],
  ["2001:3::/32", "public"],
  ["2001:4:112::/48", "public"],
  ["2001:20::/28", "public"],
  ["2001:30::/28", "public"],
  ["2001::/32", "teredo"],
  ["2001:2::/48", "benchmarking"],
  ["2001:10::/28", "orchid-deprecated"],
  ["2001::/23", "ietf-protocol-assignments"],
  ["2001:db8::/32", "documentation"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segment-routing-sid"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local-deprecated"],
  ["ff00::/8", "multicast"],
];

// --- An independent reference over BigInt arithmetic (no ipaddr.js) -------------------------

function v4ToBig(s: string): bigint {
  return s.split(".").reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}
function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((sh) => String((n >> sh) & 255n)).join(".");
}
function v6ToBig(s: string): bigint {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function bigToV6(n: bigint): string {
  // Full form; the classifier's output is compared after its own canonicalisation.
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}
const MAX4 = (1n << 32n) - 1n;
const MAX6 = (1n << 128n) - 1n;

interface Span { first: bigint; last: bigint; name: string }
function spans(rows: readonly (readonly [string, string])[], bits: bigint, parse: (s: string) => bigint): Span[] {
  return rows.map(([cidr, name]) => {
    const [addr, len] = cidr.split("/") as [string, string];
    const size = 1n << (bits - BigInt(len));
    const first = parse(addr);
    return { first, last: first + size - 1n, name };
  });
}
const V4_SPANS = spans(V4_RANGES, 32n, v4ToBig);
const V6_SPANS = spans(V6_RANGES, 128n, v6ToBig);

function refV4(n: bigint): string {
  return V4_SPANS.find((s) => n >= s.first && n <= s.last)?.name ?? "public";
}
function refV6(n: bigint): string {
  if (n >> 32n === 0xffffn) return refV4(n & MAX4); // ::ffff:0:0/96
  if (n >> 32n === 0n && n > 1n) return refV4(n & MAX4); // ::/96 (IPv4-compatible) except :: and ::1
  if (n >> 32n === v6ToBig("64:ff9b::") >> 32n) return refV4(n & MAX4); // NAT64 well-known prefix
  const hit = V6_SPANS.find((s) => n >= s.first && n <= s.last);
  if (hit) return hit.name;
  if (n >> 112n === 0x2002n) return refV4((n >> 80n) & MAX4) === "public" ? "public" : "6to4-embedded-special";
  if (n >> 125n !== 1n) return "reserved"; // outside 2000::/3
  return "public";
}

function nameOf(c: IpClassification): string {
  if (!c.valid) return `invalid: ${c.reason}`;
  return c.internal ? c.range : "public";
}

describe("classifyIp: every special-purpose range, its edges and the neighbours just outside", () => {
  for (const span of V4_SPANS) {
    const cidr = V4_RANGES[V4_SPANS.indexOf(span)]![0];
    it(`IPv4 ${cidr} (${span.name})`, () => {
      const probes = [span.first, span.last, span.first - 1n, span.last + 1n, (span.first + span.last) / 2n].filter((n) => n >= 0n && n <= MAX4);
      for (const n of probes) {
        const ip = bigToV4(n);
        const c = classifyIp(ip);
        expect({ ip, got: nameOf(c) }).toEqual({ ip, got: refV4(n) });
        expect(c.valid && c.ip).toBe(ip);
      }
      const inner = (n: bigint) => V4_SPANS.find((s) => n >= s.first && n <= s.last) === span;
      if (inner(span.first)) expect(nameOf(classifyIp(bigToV4(span.first)))).toBe(span.name);
      if (inner(span.last)) expect(nameOf(classifyIp(bigToV4(span.last)))).toBe(span.name);
    });
  }

  for (const span of V6_SPANS) {
    const cidr = V6_RANGES[V6_SPANS.indexOf(span)]![0];
    it(`IPv6 ${cidr} (${span.name})`, () => {
      const probes = [span.first, span.last, span.first - 1n, span.last + 1n, (span.first + span.last) / 2n].filter((n) => n >= 0n && n <= MAX6);
      for (const n of probes) {
        const ip = bigToV6(n);
        expect({ ip, got: nameOf(classifyIp(ip)) }).toEqual({ ip, got: refV6(n) });
      }
      // The edges belong to the range, unless a more specific row listed before it takes them.
      const inner = (n: bigint) => V6_SPANS.find((s) => n >= s.first && n <= s.last) === span;
      if (inner(span.first)) expect(nameOf(classifyIp(bigToV6(span.first)))).toBe(span.name);
      if (inner(span.last)) expect(nameOf(classifyIp(bigToV6(span.last)))).toBe(span.name);
    });
  }

  it("agrees with the reference on random addresses (fast-check)", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: MAX4 }), (n) => nameOf(classifyIp(bigToV4(n))) === refV4(n)), { numRuns: 2000 });
    const v6 = fc.oneof(
      fc.bigInt({ min: 0n, max: MAX6 }),
      // Biased towards the interesting prefixes.
      fc.tuple(fc.constantFrom(...V6_SPANS, { first: v6ToBig("2002::"), last: v6ToBig("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), name: "" },
        { first: 0n, last: MAX4 * 2n, name: "" }, { first: v6ToBig("64:ff9b::"), last: v6ToBig("64:ff9b::ffff:ffff"), name: "" }), fc.bigInt({ min: 0n, max: MAX6 }))
        .map(([s, r]) => s.first + (r % (s.last - s.first + 1n))),
    );
    fc.assert(fc.property(v6, (n) => nameOf(classifyIp(bigToV6(n))) === refV6(n)), { numRuns: 3000 });
  });
});

describe("classifyIp: named cases", () => {
  const cases: readonly (readonly [string, string, string?])[] = [
    // [input, expected classification, canonical output]
    ["10.0.0.1", "private-use"],
    ["172.31.255.255", "private-use"],
    ["172.32.0.0", "public"],
    ["192.168.1.1", "private-use"],
    ["127.0.0.1", "loopback"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared-address-space"],
    ["100.127.255.255", "shared-address-space"],
    ["100.128.0.0", "public"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.200", "documentation"],
    ["198.19.255.255", "benchmarking"],
    ["198.20.0.0", "public"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.254", "reserved"],
    ["255.255.255.255", "limited-broadcast"],
    ["0.0.0.0", "this-network"],
    ["192.0.0.9", "ietf-protocol-assignments"],
    ["192.31.196.1", "public"], // AS112
    ["192.52.193.1", "public"], // AMT
    ["8.8.8.8", "public"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fd00::1", "unique-local"],
    ["fc00::", "unique-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local", "fe80::1"],
    ["febf:ffff::", "link-local"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", "documentation"],
    ["ff02::1", "multicast"],
    ["64:ff9b:1::1", "nat64-local-use"],
    ["100::1", "discard-only"],
    ["2001::1", "teredo"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"],
    ["2001:2::1", "benchmarking"],
    ["2001:1::1", "public", "2001:1::1"],
    ["2001:1::4", "ietf-protocol-assignments"],
    ["2001:4:112::1", "public"],
    ["2001:1ff:ffff::", "ietf-protocol-assignments"],
    ["2001:200::1", "public"], // just past 2001::/23
    ["2002:c0a8:101::1", "6to4-embedded-special"], // embeds 192.168.1.1
    ["2002:808:808::1", "public"],
    ["1::1", "reserved"],
    ["4000::1", "reserved"],
    ["2606:4700:4700::1111", "public"],
    ["2606:4700:4700:0:0:0:0:1111", "public", "2606:4700:4700::1111"],
    ["2606:4700:4700::1111".toUpperCase(), "public", "2606:4700:4700::1111"],
    // IPv4-mapped, -compatible and NAT64 addresses are unwrapped first.
    ["::ffff:10.0.0.1", "private-use", "10.0.0.1"],
    ["::ffff:8.8.8.8", "public", "8.8.8.8"],
    ["::ffff:808:808", "public", "8.8.8.8"],
    ["::ffff:169.254.169.254", "link-local", "169.254.169.254"],
    ["::ffff:127.0.0.1", "loopback", "127.0.0.1"],
    ["::8.8.8.8", "public", "8.8.8.8"],
    ["::808:808", "public", "8.8.8.8"],
    ["::2", "this-network", "0.0.0.2"],
    ["64:ff9b::8.8.8.8", "public", "8.8.8.8"],
    ["64:ff9b::a00:1", "private-use", "10.0.0.1"],
    [" 8.8.8.8\n", "public", "8.8.8.8"],
  ];
  for (const [input, expected, canonical] of cases) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => {
      const c = classifyIp(input);
      expect(nameOf(c)).toBe(expected);
      if (canonical !== undefined) expect(c.valid && c.ip).toBe(canonical);
    });
  }

  it("says how an address was unwrapped", () => {
    expect(classifyIp("::ffff:8.8.8.8")).toEqual({ valid: true, ip: "8.8.8.8", version: 4, internal: false, unwrapped: "ipv4-mapped" });
    expect(classifyIp("64:ff9b::a00:1")).toEqual({ valid: true, ip: "10.0.0.1", version: 4, internal: true, range: "private-use", unwrapped: "nat64" });
    expect(classifyIp("::8.8.4.4")).toMatchObject({ ip: "8.8.4.4", unwrapped: "ipv4-mapped" });
    expect(classifyIp("::808:404")).toMatchObject({ ip: "8.8.4.4", unwrapped: "ipv4-compatible" });
    expect(classifyIp("2606:4700::1")).toEqual({ valid: true, ip: "2606:4700::1", version: 6, internal: false });
  });
});

describe("classifyIp: invalid and hostile input is rejected with a reason, never thrown", () => {
  const bad: readonly (readonly [unknown, RegExp])[] = [
    ["", /empty/],
    ["   ", /empty/],
    [null, /not a string \(null\)/],
    [undefined, /not a string \(undefined\)/],
    [1234, /not a string \(number\)/],
    [{ ip: "8.8.8.8" }, /not a string \(object\)/],
    [["8.8.8.8"], /not a string \(object\)/],
    ["1.2.3.4/../../", /CIDR range or path/],
    ["10.0.0.0/8", /CIDR range or path/],
    ["1.2.3.4?x=1", /not an IPv4 or IPv6/],
    ["1.2.3.4#frag", /not an IPv4 or IPv6/],
    ["1.2.3.4 5.6.7.8", /not an IPv4 or IPv6/],
    ["256.1.1.1", /not an IPv4 or IPv6/],
    ["1.2.3", /ambiguous IPv4 form/],
    ["127.1", /ambiguous IPv4 form/],
    ["2130706433", /ambiguous IPv4 form/],
    ["0x7f.0.0.1", /ambiguous IPv4 form/],
    ["010.0.0.1", /ambiguous IPv4 form/],
    ["8.8.8.08", /not an IPv4 or IPv6/], // ipaddr.js itself rejects an octal part with an 8
    ["::ffff:010.0.0.1", /four decimal parts/],
    ["::ffff:0x7f.0.0.1", /four decimal parts|not an IPv4/],
    ["1:2:3:4:5:6:7:8:9", /not an IPv4 or IPv6/],
    ["2001:db8::1::1", /not an IPv4 or IPv6/],
    [":::", /not an IPv4 or IPv6/],
    ["fe80::1%", /not an IPv4 or IPv6/],
    ["example.com", /not an IPv4 or IPv6/],
    ["x".repeat(65), /longer than 64/],
    ["1".repeat(10_000_000), /longer than 64/],
    ["１.２.３.４", /not an IPv4 or IPv6/], // full-width digits
    ["1.2.3.4\u0000", /not an IPv4 or IPv6/],
  ];
  for (const [input, reason] of bad) {
    it(`${JSON.stringify(input)?.slice(0, 40)}`, () => {
      const c = classifyIp(input);
      expect(c.valid).toBe(false);
      if (!c.valid) expect(c.reason).toMatch(reason);
      expect(isPublicIp(input)).toBe(false);
    });
  }

  it("never throws on arbitrary strings, and valid output is always canonical and re-classifies the same", () => {
    const ipish = fc.stringMatching(/^[0-9a-fA-Fx:.%\/ ]{0,50}$/);
    fc.assert(fc.property(fc.oneof(fc.string(), ipish, fc.anything()), (s) => {
      const c = classifyIp(s);
      if (c.valid) {
        const again = classifyIp(c.ip);
        expect(again).toMatchObject({ valid: true, ip: c.ip, internal: c.internal });
        expect(c.ip).toMatch(/^[0-9a-f:.]+$/);
      }
    }), { numRuns: 3000 });
  });
});
