import { generatedGetter, MAX_GENERATED_SEGMENTS } from "./nested-getter.js";

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
  const key = JSON.stringify(options.nullValue === undefined ? path : [path, options.nullValue]);
  let getter = getters.get(key);
  if (getter === undefined) {
    getter = memoised(slotGeneration.length, uncachedFieldGetter(path, options));
    slotGeneration.push(-1);
    slotValue.push(null);
    getters.set(key, getter);
  }
  return getter;
}

/**
 * The getter of a path without the per-event memo below, for callers that keep their own (the
 * stage index's atom table): one less call and array lookup per read. One per path, shared.
 */
export function unmemoisedFieldGetter(path: readonly string[]): FieldGetter {
  const key = JSON.stringify(path);
  let getter = rawGetters.get(key);
  if (getter === undefined) rawGetters.set(key, (getter = uncachedFieldGetter(path, {})));
  return getter;
}

const rawGetters = new Map<string, FieldGetter>();

/*
 * Per-event memo of field values. Hundreds of rule predicates test one event in a row and read the
 * same few dozen fields (`event.category`, `host.os.type`, `process.name`, ...): each field is
 * resolved once per event and kept in a slot shared by every getter of that path. The memo holds
 * the last event only and is keyed by object identity (events are never mutated while evaluated).
 */
/** One memoised getter per path (and null_value): compiled rules share them. */
const getters = new Map<string, FieldGetter>();
const slotGeneration: number[] = [];
const slotValue: Value[] = [];
let currentEvent: object | null = null;
let generation = 0;

function memoised(slot: number, get: FieldGetter): FieldGetter {
  return (e) => {
    if (e !== currentEvent) {
      currentEvent = e;
      generation++;
    }
    if (slotGeneration[slot] === generation) return slotValue[slot]!;
    const v = get(e);
    slotGeneration[slot] = generation;
    slotValue[slot] = v;
    return v;
  };
}

function uncachedFieldGetter(path: readonly string[], options: { nullValue?: Scalar }): FieldGetter {
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
  // Arrays of scalars (event.category, process.args) are returned as they are: never mutated.
  const leaf = (v: unknown, e: Event): Value => {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
    if (Array.isArray(v) && v.length > 0 && isScalarArray(v)) return v.length === 1 ? (v[0] as Scalar) : (v as Scalar[]);
    return slow(e);
  };
  // Where the nested spelling is missing, every split of the path into keys
  // (`a.b.c`, `a`+`b.c`, ...) is tried without allocating. Arrays along the way, or values found
  // under two spellings, go to the general resolver. Plain property reads are safe here: no
  // segment names an Object.prototype property (checked above) and joined keys contain dots.
  const find = (node: unknown, i: number): unknown => {
    if (i === n) return node;
    if (node === null || typeof node !== "object") return undefined;
    if (Array.isArray(node)) return FALLBACK;
    const row = joined[i]!;
    let found: unknown = undefined;
    for (let j = i; j < n; j++) {
      const child = (node as Record<string, unknown>)[row[j]!];
      if (child === undefined) continue;
      const r = find(child, j + 1);
      if (r === FALLBACK) return FALLBACK;
      if (r !== undefined) {
        if (found !== undefined) return FALLBACK;
        found = r;
      }
    }
    return found;
  };
  const viaFind: FieldGetter = (e) => {
    const r = find(e, 0);
    if (r === undefined) return null;
    // An explicit null is missing, unless a mapping's null_value stands for it.
    if (r === null) return nullValue === undefined ? null : slow(e);
    if (r === FALLBACK) return slow(e);
    return leaf(r, e);
  };
  if (n < 1 || n > MAX_GENERATED_SEGMENTS) return viaFind;
  // Paths of up to 8 segments get a generated function (see nested-getter.ts for why) once they
  // are read often: generating one costs ~0.1 ms, and a rule set names hundreds of paths that a
  // cold start would otherwise pay for, most of them rarely read.
  let calls = 0;
  let generated: FieldGetter | null = null;
  return (e) => {
    if (generated !== null) return generated(e);
    if (++calls >= GENERATE_AFTER_READS) generated = generatedGetter(path, slow, leaf);
    return viaFind(e);
  };
}

/** Reads of a path before its getter is generated. */
const GENERATE_AFTER_READS = 64;

/** A value `find` returns when the general resolver must decide. */
const FALLBACK: unique symbol = Symbol("fallback");

function isScalarArray(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") return false;
  }
  return true;
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
