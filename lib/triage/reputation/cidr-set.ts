/**
 * An immutable set of IPv4 and IPv6 networks (CIDRs and single addresses) with a value per
 * network, answering "which listed network holds this address" in O(log n).
 *
 * Built once per list load: the networks are flattened into disjoint, sorted segments, each
 * labelled with the most specific network covering it (CIDRs either nest or are disjoint, so a
 * sweep with a stack does this in one pass after sorting), adjacent segments with the same label
 * merged. A lookup is one binary search. IPv4 bounds live in typed arrays of plain numbers (exact
 * up to 2^32); IPv6 bounds are BigInts (lists hold few IPv6 networks). Among identical networks the
 * first one listed wins.
 */
import ipaddr from "ipaddr.js";
import { parseStrict } from "../special-addresses.js";

export type Network =
  | { readonly version: 4; readonly first: number; readonly last: number; readonly prefix: number; readonly text: string }
  | { readonly version: 6; readonly first: bigint; readonly last: bigint; readonly prefix: number; readonly text: string };

export interface CidrMatch<T> {
  /** The most specific listed network holding the address, canonical (`a.b.c.0/24`, or a bare address for /32 and /128). */
  readonly network: string;
  readonly value: T;
}

export interface CidrSet<T> {
  /** Distinct networks held. */
  readonly size: number;
  /** Disjoint segments after flattening (a measure of the structure's size). */
  readonly segments: number;
  /** The most specific network holding `ip`, or null (also for a string that is not an address). */
  lookup(ip: string): CidrMatch<T> | null;
}

/**
 * Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `x::/n` into a network, or returns why not.
 * Host bits below the prefix are cleared (`1.2.3.4/24` is `1.2.3.0/24`). An IPv4-mapped IPv6
 * network of prefix 96 or more becomes the IPv4 network it maps, as lookups unwrap mapped addresses.
 */
export function parseNetwork(text: string): Network | string {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let prefix: number | null = null;
  const prefixText = slash < 0 ? null : text.slice(slash + 1);
  const prefixOk = prefixText === null || /^(0|[1-9]\d{0,2})$/.test(prefixText);
  if (prefixText !== null && prefixOk) prefix = Number(prefixText);
  const quad = dottedQuadKey(addrText);
  if (quad !== null) {
    if (!prefixOk) return `bad prefix length ${JSON.stringify(prefixText!.slice(0, 10))}`;
    if (prefix !== null && prefix > 32) return `prefix length ${prefix} is longer than 32`;
    return v4NetworkFromKey(quad, prefix ?? 32);
  }
  if (addrText.length > 64) return "address longer than 64 characters";
  const addr = parseStrict(addrText);
  if (typeof addr === "string") return addr;
  if (!prefixOk) return `bad prefix length ${JSON.stringify(prefixText!.slice(0, 10))}`;
  if (addr.kind() === "ipv6") {
    const a6 = addr as ipaddr.IPv6;
    if (a6.isIPv4MappedAddress() && (prefix === null || prefix >= 96)) return v4Network(a6.toIPv4Address(), prefix === null ? 32 : prefix - 96);
    const p = prefix ?? 128;
    if (p > 128) return `prefix length ${p} is longer than 128`;
    return v6Network(a6, p);
  }
  const p = prefix ?? 32;
  if (p > 32) return `prefix length ${p} is longer than 32`;
  return v4Network(addr as ipaddr.IPv4, p);
}

function v4Network(a: ipaddr.IPv4, prefix: number): Network {
  return v4NetworkFromKey(v4ToNumber(a), prefix);
}

/** `canonical`: the address's text when the caller has it in canonical form already (saves a string). */
export function v4NetworkFromKey(n: number, prefix: number, canonical?: string): Network {
  const size = 2 ** (32 - prefix);
  const first = Math.floor(n / size) * size;
  const last = first + size - 1;
  if (prefix === 32 && canonical !== undefined) return { version: 4, first, last, prefix, text: canonical };
  const base = numberToV4(first);
  return { version: 4, first, last, prefix, text: prefix === 32 ? base : `${base}/${prefix}` };
}

function v6Network(a: ipaddr.IPv6, prefix: number): Network {
  const n = v6ToBigInt(a);
  const hostBits = BigInt(128 - prefix);
  const first = (n >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  const base = bigIntToV6(first);
  return { version: 6, first, last, prefix, text: prefix === 128 ? base : `${base}/${prefix}` };
}

function v4ToNumber(a: ipaddr.IPv4): number {
  const [o0, o1, o2, o3] = a.octets as [number, number, number, number];
  return o0 * 0x1000000 + (o1 << 16) + (o2 << 8) + o3;
}

function numberToV4(n: number): string {
  return `${Math.floor(n / 0x1000000)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6ToBigInt(a: ipaddr.IPv6): bigint {
  let n = 0n;
  for (const part of a.parts) n = (n << 16n) | BigInt(part);
  return n;
}

function bigIntToV6(n: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

const QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * The fast path for the common case, a plain dotted quad: one regex, no objects. It accepts
 * exactly the strings `parseStrict` accepts as IPv4 and yields the same address (a property test
 * checks this against ipaddr.js); everything else goes through `parseStrict`. Reading 100k list
 * lines through ipaddr.js alone costs several times more, mostly in garbage.
 */
export function dottedQuadKey(text: string): number | null {
  const m = QUAD.exec(text);
  if (m === null) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  const c = Number(m[3]);
  const d = Number(m[4]);
  if (a > 255 || b > 255 || c > 255 || d > 255) return null;
  return a * 0x1000000 + b * 0x10000 + c * 0x100 + d;
}

/** The lookup key of an address string, IPv4-mapped IPv6 unwrapped; null when it is not an address. */
function addressKey(ip: string): { readonly version: 4; readonly key: number } | { readonly version: 6; readonly key: bigint } | null {
  const quad = dottedQuadKey(ip);
  if (quad !== null) return { version: 4, key: quad };
  if (ip.length > 64) return null;
  const addr = parseStrict(ip.trim());
  if (typeof addr === "string") return null;
  if (addr.kind() === "ipv4") return { version: 4, key: v4ToNumber(addr as ipaddr.IPv4) };
  const a6 = addr as ipaddr.IPv6;
  if (a6.isIPv4MappedAddress()) return { version: 4, key: v4ToNumber(a6.toIPv4Address()) };
  return { version: 6, key: v6ToBigInt(a6) };
}

// ---------------------------------------------------------------------------------------------

interface Span<K> {
  readonly first: K;
  readonly last: K;
  /** Index into the entries (input order). */
  readonly index: number;
}

interface Flat<K> {
  readonly starts: K[];
  readonly ends: K[];
  readonly labels: number[];
  /** Distinct spans (duplicates skipped). */
  distinct: number;
}

/**
 * Flattens nested-or-disjoint spans into disjoint labelled segments (innermost span wins). `spans`
 * must be sorted by first ascending, then last descending (outer before inner), then input order.
 */
function flatten<K extends number | bigint>(spans: readonly Span<K>[], succ: (k: K) => K, pred: (k: K) => K): Flat<K> {
  const out: Flat<K> = { starts: [], ends: [], labels: [], distinct: 0 };
  const emit = (start: K, end: K, label: number): void => {
    const n = out.labels.length;
    if (n > 0 && out.labels[n - 1] === label && succ(out.ends[n - 1]!) === start) out.ends[n - 1] = end;
    else {
      out.starts.push(start);
      out.ends.push(end);
      out.labels.push(label);
    }
  };
  const stack: Span<K>[] = [];
  let cursor: K | undefined;
  let previous: Span<K> | undefined;
  const close = (): void => {
    const top = stack.pop()!;
    if (cursor! <= top.last) emit(cursor!, top.last, top.index);
    cursor = succ(top.last);
  };
  for (const span of spans) {
    if (previous && previous.first === span.first && previous.last === span.last) continue; // the first listed wins
    previous = span;
    out.distinct++;
    while (stack.length > 0 && stack[stack.length - 1]!.last < span.first) close();
    const top = stack[stack.length - 1];
    if (top && cursor! < span.first) emit(cursor!, pred(span.first), top.index);
    stack.push(span);
    cursor = span.first;
  }
  while (stack.length > 0) close();
  return out;
}

/** Index of the last start <= key, or -1. */
function floorIndex<K extends number | bigint>(starts: ArrayLike<K>, key: K): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export function buildCidrSet<T>(entries: readonly { readonly network: Network; readonly value: T }[]): CidrSet<T> {
  // IPv4: for CIDRs "last descending" is "prefix ascending", so one exact number (first * 64 +
  // prefix) orders the spans and identifies duplicates. Keeping the first index per key and
  // sorting the keys natively in a Float64Array avoids 100k comparator calls.
  const firstIndexByOrder = new Map<number, number>();
  const v6: Span<bigint>[] = [];
  entries.forEach((e, index) => {
    const n = e.network;
    if (n.version === 4) {
      const order = n.first * 64 + n.prefix;
      if (!firstIndexByOrder.has(order)) firstIndexByOrder.set(order, index);
    } else v6.push({ first: n.first, last: n.last, index });
  });
  const orders = Float64Array.from(firstIndexByOrder.keys()).sort();
  const v4: Span<number>[] = Array.from(orders, (order) => {
    const index = firstIndexByOrder.get(order)!;
    const n = entries[index]!.network as Extract<Network, { version: 4 }>;
    return { first: n.first, last: n.last, index };
  });
  // Array.prototype.sort is stable: identical networks keep input order (the first listed wins).
  v6.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.last > b.last ? -1 : a.last < b.last ? 1 : 0));
  const f4 = flatten(v4, (k) => k + 1, (k) => k - 1);
  const f6 = flatten(v6, (k) => k + 1n, (k) => k - 1n);
  // Typed arrays for the hot IPv4 path: compact and fast to search.
  const starts4 = Float64Array.from(f4.starts);
  const ends4 = Float64Array.from(f4.ends);
  const labels4 = Int32Array.from(f4.labels);
  const match = (label: number): CidrMatch<T> => ({ network: entries[label]!.network.text, value: entries[label]!.value });
  return {
    size: f4.distinct + f6.distinct,
    segments: f4.labels.length + f6.labels.length,
    lookup(ip: string): CidrMatch<T> | null {
      const k = addressKey(ip);
      if (k === null) return null;
      if (k.version === 4) {
        const i = floorIndex(starts4, k.key);
        return i >= 0 && k.key <= ends4[i]! ? match(labels4[i]!) : null;
      }
      const i = floorIndex(f6.starts, k.key);
      return i >= 0 && k.key <= f6.ends[i]! ? match(f6.labels[i]!) : null;
    },
  };
}
