import { eventIdentity, parseTimestamp } from "../eql/index.js";
import { describeValue, hasLoneSurrogate, rejectedText, sqsSafeText, toWellFormed } from "./text.js";
import type { AcceptedEvent, Origin, RejectReason, RejectedEvent } from "./types.js";

/**
 * Validation of one parsed record, as DESIGN.md says: an event is a JSON object with a parseable
 * timestamp that is not too far in the future. Nothing else is required, and an event is never
 * rejected for its age (forwarders deliver minutes late, backfills hours late).
 *
 * Two more checks keep hostile input from hurting what runs after ingest:
 * - nesting depth: V8's JSON.parse is iterative and accepts 100,000 levels, but every recursive
 *   consumer (the identity hash, JSON.stringify, the DynamoDB marshaller, which allows 32) would
 *   then overflow its stack;
 * - lone surrogates (`"\ud800"` in JSON) become U+FFFD, as invalid UTF-8 bytes already do in the
 *   decoder: the stores and queues after us speak UTF-8, where a lone surrogate does not exist. The
 *   event is kept: rejecting it would let an attacker hide an event from detection with one bad
 *   escape.
 */

export interface ValidateOptions {
  /** The wall clock, epoch milliseconds. Injected: ingest never reads the clock itself. */
  readonly nowMs: number;
  /** How far ahead of `nowMs` an event may be stamped. @default 300000 (5 minutes) */
  readonly maxFutureSkewMs?: number;
  /** Field holding the event time; dotted paths resolve nested objects and dotted keys alike. @default "@timestamp" */
  readonly timestampField?: string;
  /** Deepest nesting of objects and arrays accepted; the event itself is level 1. @default 64 */
  readonly maxDepth?: number;
  /** How much of a rejected record's text is kept. @default 8192 */
  readonly keepChars?: number;
}

export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;
export const DEFAULT_TIMESTAMP_FIELD = "@timestamp";
export const DEFAULT_MAX_DEPTH = 64;
export const DEFAULT_KEEP_CHARS = 8192;

const NS_PER_MS = 1_000_000n;
/** A JSON escape of a surrogate code unit, `\uD800` to `\uDFFF`. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * Validates a parsed record. `text` is the record's original text, kept (clipped and made safe for
 * SQS) in a rejection. An accepted event is the same object, with lone surrogates in its strings
 * and keys replaced in place; nothing is merged or copied into another object, so a `__proto__`
 * key stays an own data property.
 */
export function validateEvent(event: unknown, origin: Origin, text: string, options: ValidateOptions): AcceptedEvent | RejectedEvent {
  return eventValidator(options)(event, origin, text);
}

export type EventValidator = (event: unknown, origin: Origin, text: string) => AcceptedEvent | RejectedEvent;

/** `validateEvent` with the options compiled once, for validating many records. */
export function eventValidator(options: ValidateOptions): EventValidator {
  const keep = options.keepChars ?? DEFAULT_KEEP_CHARS;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const field = options.timestampField ?? DEFAULT_TIMESTAMP_FIELD;
  const path = field.split(".");
  const name = JSON.stringify(field);
  const skewMs = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
  const nowNs = BigInt(Math.trunc(options.nowMs)) * NS_PER_MS;
  const limitNs = nowNs + BigInt(Math.trunc(skewMs)) * NS_PER_MS;

  return (event, origin, text) => {
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      return rejection("not_an_object", `an event must be a JSON object, found ${kindOf(event)}`, text, keep, origin);
    }
    const record = event as Record<string, unknown>;
    // A lone surrogate can only come from a `\uD8xx`-style escape in the JSON text (decoded UTF-8
    // has none): when the text is known and has no such escape, strings need no surrogate scan.
    const scanStrings = text.length === 0 || (text.includes("\\u") && SURROGATE_ESCAPE.test(text));
    if (!normalise(record, maxDepth, scanStrings)) {
      return rejection("nesting_too_deep", `event nested deeper than ${maxDepth} levels`, text, keep, origin);
    }
    const values = rawValues(record, path);
    let raw: unknown = null;
    let present = 0;
    for (const v of values) {
      if (v !== null) {
        raw = v;
        present++;
      }
    }
    if (present === 0) {
      return rejection("missing_timestamp", values.length === 0 ? `no ${name} field` : `${name} is null`, text, keep, origin);
    }
    if (present > 1) return rejection("invalid_timestamp", `${name} has ${present} values, expected one`, text, keep, origin);
    if (typeof raw !== "string" && typeof raw !== "number") {
      const found = kindOf(raw);
      return rejection("invalid_timestamp", `${name} must be an ISO 8601 string or epoch milliseconds, found ${found}`, text, keep, origin);
    }
    const ts = parseTimestamp(raw);
    if (ts === null) {
      const message = `${name} ${describeValue(raw)} is not an ISO 8601 time with a zone or epoch milliseconds`;
      return rejection("invalid_timestamp", message, text, keep, origin);
    }
    if (ts > limitNs) {
      const message = `${name} ${describeValue(raw)} is ${(ts - nowNs) / NS_PER_MS} ms ahead of the clock (allowed skew ${skewMs} ms)`;
      return rejection("timestamp_in_future", message, text, keep, origin);
    }
    return { event: record, ts, id: eventIdentity(record), origin };
  };
}

function rejection(reason: RejectReason, message: string, text: string, keep: number, origin: Origin): RejectedEvent {
  return { reason, message: sqsSafeText(message), text: rejectedText(text, keep), origin };
}

export function isRejected(r: AcceptedEvent | RejectedEvent): r is RejectedEvent {
  return "reason" in r;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/**
 * Checks the nesting depth without recursion and replaces lone surrogates in strings and keys in
 * place. Returns false when the event is nested deeper than `maxDepth`.
 */
function normalise(root: Record<string, unknown>, maxDepth: number, scanStrings: boolean): boolean {
  // Two parallel stacks instead of tuples: this walk runs over every event.
  const nodes: object[] = [root];
  const depths: number[] = [1];
  for (;;) {
    const node = nodes.pop();
    if (node === undefined) return true;
    const depth = depths.pop()!;
    if (depth > maxDepth) return false;
    if (Array.isArray(node)) {
      const arr = node as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (typeof v === "string") {
          if (scanStrings && hasLoneSurrogate(v)) arr[i] = toWellFormed(v);
        } else if (v !== null && typeof v === "object") {
          nodes.push(v);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const obj = node as Record<string, unknown>;
    let keys = Object.keys(obj);
    if (scanStrings && keys.some(hasLoneSurrogate)) {
      renameKeys(obj, keys);
      keys = Object.keys(obj);
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const v = obj[key];
      if (typeof v === "string") {
        if (scanStrings && hasLoneSurrogate(v)) defineOwn(obj, key, toWellFormed(v));
      } else if (v !== null && typeof v === "object") {
        nodes.push(v);
        depths.push(depth + 1);
      }
    }
  }
}

/** Rewrites every key well-formed, keeping the order (later duplicates win, as in JSON.parse). */
function renameKeys(obj: Record<string, unknown>, keys: string[]): void {
  const entries = keys.map((k) => [toWellFormed(k), obj[k]] as const);
  for (const k of keys) delete obj[k];
  for (const [k, v] of entries) defineOwn(obj, k, v);
}

/** An own data property, even for `__proto__` (plain assignment would set the prototype). */
function defineOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * The raw values at a field path, reading own properties only. `a.b` resolves `{"a":{"b":..}}`,
 * `{"a.b":..}` and arrays of objects along the way; the leaf is returned as it is (an array stays
 * an array), so that a timestamp of the wrong type is reported as such. Stops after two values.
 */
function rawValues(event: Record<string, unknown>, path: readonly string[]): unknown[] {
  if (path.length === 1) return Object.hasOwn(event, path[0]!) ? [event[path[0]!]] : [];
  const out: unknown[] = [];
  const visit = (node: unknown, i: number): void => {
    if (out.length > 1) return;
    if (i === path.length) {
      out.push(node);
      return;
    }
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const el of node) visit(el, i);
      return;
    }
    let key = "";
    for (let j = i; j < path.length; j++) {
      key = j === i ? path[j]! : key + "." + path[j]!;
      if (Object.hasOwn(node, key)) visit((node as Record<string, unknown>)[key], j + 1);
    }
  };
  visit(event, 0);
  return out;
}
