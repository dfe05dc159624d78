/**
 * Event values as the engine sees them: a field resolves to null (missing), one scalar, or an array
 * of scalars (a multi-valued field, matched element by element).
 */

export type Scalar = string | number | boolean;
export type Value = Scalar | null | readonly Scalar[];

/** An event: a parsed JSON object. Never mutated by the engine. */
export type Event = Readonly<Record<string, unknown>>;

export type FieldGetter = (event: Event) => Value;

const UNSAFE_SEGMENTS = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Compiles a field path into a getter. Nested objects (`{"process": {"name": ...}}`), literal dotted
 * keys (`{"process.name": ...}`, as Elasticsearch treats them alike), arrays of objects and mixes
 * of these all resolve. Only own properties are read, so `__proto__` or `constructor` in a path or
 * an event can never reach Object.prototype.
 */
export function fieldGetter(path: readonly string[], options: { nullValue?: Scalar } = {}): FieldGetter {
  const nullValue = options.nullValue;
  const n = path.length;
  // joined[i][j] = path[i..j] joined by ".", precomputed so lookups never build strings.
  const joined: string[][] = [];
  for (let i = 0; i < n; i++) {
    const row: string[] = [];
    let key = "";
    for (let j = i; j < n; j++) {
      key = j === i ? path[j]! : key + "." + path[j]!;
      row[j] = key;
    }
    joined.push(row);
  }
  const slow: FieldGetter = (event) => {
    const out: Scalar[] = [];
    resolve(event, joined, 0, n, out, nullValue);
    return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
  };
  if (path.some((p) => UNSAFE_SEGMENTS.has(p))) return slow;
  // Fast path for the common case: plain nested objects ending in a scalar. Anything else
  // (missing step, array, dotted key) falls back to the general resolver.
  if (n === 1) {
    const [a] = path as [string];
    return (e) => {
      const v = e[a];
      return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : slow(e);
    };
  }
  if (n === 2) {
    const [a, b] = path as [string, string];
    return (e) => {
      const o = e[a] as Record<string, unknown> | undefined;
      if (o !== undefined && o !== null && typeof o === "object") {
        const v = o[b];
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
      }
      return slow(e);
    };
  }
  if (n === 3) {
    const [a, b, c] = path as [string, string, string];
    return (e) => {
      const o = e[a] as Record<string, Record<string, unknown> | undefined> | undefined;
      if (o !== undefined && o !== null && typeof o === "object") {
        const p = o[b];
        if (p !== undefined && p !== null && typeof p === "object") {
          const v = p[c];
          if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
        }
      }
      return slow(e);
    };
  }
  return slow;
}

function resolve(node: unknown, joined: string[][], i: number, n: number, out: Scalar[], nullValue: Scalar | undefined): void {
  if (i === n) {
    collect(node, out, 0, nullValue);
    return;
  }
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const el of node) resolve(el, joined, i, n, out, nullValue);
    return;
  }
  const row = joined[i]!;
  for (let j = i; j < n; j++) {
    const key = row[j]!;
    if (Object.hasOwn(node, key)) resolve((node as Record<string, unknown>)[key], joined, j + 1, n, out, nullValue);
  }
}

/**
 * Scalars of a leaf value; nested arrays are flattened, objects skipped, and explicit nulls skipped
 * or, with a mapping's `null_value`, replaced by it.
 */
function collect(v: unknown, out: Scalar[], depth: number, nullValue: Scalar | undefined): void {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(v);
  else if (v === null && nullValue !== undefined) out.push(nullValue);
  else if (Array.isArray(v) && depth < 32) for (const x of v) collect(x, out, depth + 1, nullValue);
}

export function isNull(v: Value): v is null {
  return v === null;
}

/** The keyword form of a scalar, as Elasticsearch indexes numbers and booleans in keyword fields. */
export function scalarToString(v: Scalar): string {
  return typeof v === "string" ? v : String(v);
}

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** A number for a number or a numeric string, else NaN. */
export function toNumber(v: Scalar): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && NUMERIC.test(v)) return Number(v);
  return NaN;
}

/**
 * Equality of two scalars without mappings: the JSON types decide. A number and a numeric string
 * compare as numbers (`user.id` is a number in some sources and a string in others), a boolean
 * and "true"/"false" compare as booleans.
 */
export function scalarEquals(a: Scalar, b: Scalar): boolean {
  if (a === b) return true;
  const ta = typeof a;
  const tb = typeof b;
  if (ta === tb) return false;
  if (ta === "number" || tb === "number") {
    if (ta === "boolean" || tb === "boolean") return false;
    return toNumber(a) === toNumber(b);
  }
  // boolean vs string
  return String(a) === String(b);
}

/** Ordering of two scalars, or NaN when they cannot be ordered. */
export function scalarCompare(a: Scalar, b: Scalar): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "number" || typeof b === "number") {
    const x = toNumber(a as Scalar);
    const y = toNumber(b as Scalar);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    if (typeof a === "boolean" || typeof b === "boolean") return NaN;
    const sa = scalarToString(a);
    const sb = scalarToString(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const sa = scalarToString(a);
  const sb = scalarToString(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** True when the value is `true` or contains `true` (a boolean test on a multi-valued result). */
export function isTrue(v: Value): boolean {
  if (v === true) return true;
  if (v === null || typeof v !== "object") return false;
  for (const x of v) if (x === true) return true;
  return false;
}
