import ipaddr from "ipaddr.js";
import type { Evaluator } from "./compile.js";
import type { Event, Scalar } from "./values.js";

/** Above this many key tuples (cartesian product of multi-valued keys) an event is rejected for the rule. */
export const MAX_KEY_TUPLES = 32;

export type KeyValue = string | null;

export type KeyTuplesResult =
  | { success: true; tuples: KeyValue[][] }
  | { success: false; reason: "too_many_join_keys"; count: number };

export interface JoinKeys {
  readonly keys: readonly Evaluator[];
  /** `?field` keys: a missing value is a null key. A missing non-optional key means no tuple. */
  readonly keyOptional: readonly boolean[];
}

/**
 * Join-key tuples of an event for one stage. Values are normalised so that sources agree: numbers,
 * strings and booleans compare by their string form (`user.id` is a number on Linux and a
 * string on Windows) and IP addresses by their canonical form. As in Elasticsearch, an event
 * whose non-optional key is missing (or only nulls) takes no part; a missing optional (`?field`)
 * key is null and joins other nulls. A multi-valued key gives one tuple per distinct non-null
 * element: the cartesian product over all key fields, capped at MAX_KEY_TUPLES.
 */
export function keyTuples(join: JoinKeys, event: Event): KeyTuplesResult {
  let tuples: KeyValue[][] = [[]];
  for (let i = 0; i < join.keys.length; i++) {
    const v = join.keys[i]!(event);
    const values: KeyValue[] =
      v === null ? [] : typeof v === "object" ? unique(v.map(normaliseKey)) : [normaliseKey(v)];
    if (values.length === 0) {
      if (!join.keyOptional[i]) return { success: true, tuples: [] };
      values.push(null);
    }
    const count = tuples.length * values.length;
    if (count > MAX_KEY_TUPLES) return { success: false, reason: "too_many_join_keys", count };
    const next: KeyValue[][] = [];
    for (const t of tuples) for (const k of values) next.push([...t, k]);
    tuples = next;
  }
  return { success: true, tuples };
}

function unique(xs: KeyValue[]): KeyValue[] {
  return [...new Set(xs)];
}

const IPV4ISH = /^[0-9.]+$|:/;

export function normaliseKey(v: Scalar): string {
  if (typeof v !== "string") return String(v);
  if (IPV4ISH.test(v) && ipaddr.isValid(v)) {
    try {
      const a = ipaddr.parse(v);
      if (a.kind() === "ipv6") {
        const six = a as ipaddr.IPv6;
        // RFC 5952 text (lower case, zeros compressed); IPv4-mapped addresses as IPv4.
        return six.isIPv4MappedAddress() ? six.toIPv4Address().toString() : six.toString();
      }
      // Only plain dotted quads: "010.1.2.3" would otherwise be read as octal.
      if (ipaddr.IPv4.isValidFourPartDecimal(v)) return a.toString();
    } catch {
      return v;
    }
  }
  return v;
}

/** A collision-free string for a key tuple, usable as a Map key. */
export function tupleKey(tuple: readonly KeyValue[]): string {
  return JSON.stringify(tuple);
}
