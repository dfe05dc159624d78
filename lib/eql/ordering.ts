import { createHash } from "node:crypto";
import { fieldGetter, scalarCompare, type Event, type FieldGetter, type Scalar } from "./values.js";
import { parseTimestamp } from "./timestamp.js";

/**
 * The position of an event in time: timestamp (ns), then the tiebreaker field, then event identity.
 * Elasticsearch orders a null tiebreaker before any value.
 */
export interface Ordinal {
  readonly ts: bigint;
  readonly tiebreaker: Scalar | null;
  readonly id: string;
}

export function compareOrdinals(a: Ordinal, b: Ordinal): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.tiebreaker !== b.tiebreaker) {
    if (a.tiebreaker === null) return -1;
    if (b.tiebreaker === null) return 1;
    const c = scalarCompare(a.tiebreaker, b.tiebreaker);
    if (c !== 0 && !Number.isNaN(c)) return c < 0 ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface OrderingOptions {
  /** Field holding the event time. Default `@timestamp`. */
  readonly timestampField?: string;
  /** Field that breaks ties between equal timestamps (e.g. `event.sequence`). Default none. */
  readonly tiebreakerField?: string | null;
}

export const DEFAULT_TIMESTAMP_FIELD = "@timestamp";

export type OrdinalResult = { success: true; ordinal: Ordinal } | { success: false; reason: "missing_timestamp" | "invalid_timestamp" };

/** Builds the ordinal of events; identity is `event.id` when present, else a hash of the event. */
export function ordinalReader(options: OrderingOptions = {}): (event: Event, identity?: string) => OrdinalResult {
  const tsGet = rawGetter(options.timestampField ?? DEFAULT_TIMESTAMP_FIELD);
  const tb: FieldGetter | null = options.tiebreakerField ? fieldGetter(options.tiebreakerField.split(".")) : null;
  return (event, identity) => {
    const raw = tsGet(event);
    if (raw === undefined || raw === null) return { success: false, reason: "missing_timestamp" };
    const ts = parseTimestamp(raw);
    if (ts === null) return { success: false, reason: "invalid_timestamp" };
    let tiebreaker: Scalar | null = null;
    if (tb) {
      const v = tb(event);
      tiebreaker = v === null ? null : typeof v === "object" ? (v[0] ?? null) : v;
    }
    return { success: true, ordinal: { ts, tiebreaker, id: identity ?? eventIdentity(event) } };
  };
}

/** The raw (unconverted) first value of a field, for timestamps. */
function rawGetter(field: string): (event: Event) => unknown {
  const get = fieldGetter(field.split("."));
  return (event) => {
    const v = get(event);
    return v !== null && typeof v === "object" ? v[0] : v;
  };
}

const eventIdGetter = fieldGetter(["event", "id"]);

/** Longest `event.id` used as it is; a longer one is stood for by its digest. */
export const MAX_EVENT_ID_CHARS = 256;

/**
 * `event.id` when present, else a SHA-256 of the canonical event, so redelivered copies agree.
 * The identity is stored in every candidate row, summary, claim and alert: an `event.id` of
 * megabytes would make those items too large to write (DynamoDB's 400 KB), failing every batch
 * it came in, so a long one is replaced by its digest rather than the event being rejected.
 */
export function eventIdentity(event: Event): string {
  const id = eventIdGetter(event);
  if (typeof id === "string" || typeof id === "number") {
    const text = String(id);
    return text.length <= MAX_EVENT_ID_CHARS ? text : "sha256-id:" + createHash("sha256").update(text).digest("hex").slice(0, 32);
  }
  return "sha256:" + createHash("sha256").update(canonicalJson(event)).digest("hex").slice(0, 32);
}

/** JSON with object keys sorted, so that equal events hash equally whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return "[" + v.map(canonicalJson).join(",") + "]";
  const keys = Object.keys(v).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson((v as Record<string, unknown>)[k])).join(",") + "}";
}
