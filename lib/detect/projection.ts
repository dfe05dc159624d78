import type { Event } from "../eql/index.js";

/**
 * Events in alerts and candidate rows are projections: the fields the rule reads plus the
 * fields triage and the alert card need. Long strings are cut and the alert lists them, so
 * items stay far below DynamoDB's 400 KB and a hostile multi-megabyte field cannot bloat state.
 */
export const TRIAGE_FIELDS: readonly string[] = [
  "@timestamp", "event.id", "event.kind", "event.category", "event.type", "event.action", "event.outcome", "event.code",
  "event.sequence", "event.dataset", "event.module", "event.provider",
  "data_stream.type", "data_stream.dataset", "data_stream.namespace",
  "host.id", "host.name", "host.hostname", "host.ip", "host.os.type", "host.os.name", "host.os.family",
  "agent.id", "agent.type",
  "user.id", "user.name", "user.domain", "user.email",
  "process.entity_id", "process.pid", "process.name", "process.executable", "process.command_line", "process.args",
  "process.working_directory", "process.hash.md5", "process.hash.sha1", "process.hash.sha256",
  "process.code_signature.subject_name", "process.code_signature.trusted", "process.code_signature.exists",
  "process.code_signature.status", "process.Ext.token.integrity_level_name",
  "process.parent.entity_id", "process.parent.pid", "process.parent.name", "process.parent.executable",
  "process.parent.command_line", "process.parent.args",
  "source.ip", "source.port", "source.address", "source.domain", "destination.ip", "destination.port",
  "destination.address", "destination.domain", "network.direction", "network.transport", "network.protocol",
  "dns.question.name", "url.full", "url.domain",
  "file.path", "file.name", "file.extension", "file.hash.sha256", "file.hash.md5", "file.hash.sha1",
  "registry.path", "registry.value", "registry.data.strings",
  "dll.path", "dll.name", "dll.hash.sha256",
];

export const MAX_FIELD_CHARS = 2048;
const MAX_ARRAY = 64;

/**
 * Size budgets, in UTF-8 bytes as DynamoDB counts them. The per-value limits alone do not bound an
 * event: 64 arguments of 2 KB each in several fields is megabytes, and an alert item (its events
 * undeflated, and again in the triage result) must stay under 400 KB or the batch that raised it
 * fails on every delivery. So each projected event has a budget, and an alert's events together
 * stay within ALERT_EVENTS_BUDGET however many stages the rule has (up to 60 in production rules).
 */
export const MAX_EVENT_BYTES = 24_000;
export const ALERT_EVENTS_BUDGET = 240_000;

/** The budget of each projected event of a rule whose matches have `members` events. */
export function projectionBudget(members: number): number {
  return Math.max(2_000, Math.min(MAX_EVENT_BYTES, Math.floor(ALERT_EVENTS_BUDGET / Math.max(1, members))));
}

export interface Projection {
  readonly event: Record<string, unknown>;
  /** Dotted names of the fields whose values were cut. */
  readonly truncated: readonly string[];
}

/**
 * Copies `fields` from `event` into a new nested object. Nested objects are created without a
 * prototype and filled with defineProperty, so a field named `__proto__` is plain data.
 *
 * Within `budget` bytes every field keeps its value up to the per-value limits. Beyond it the
 * budget is shared fairly: small values (IPs, ports, names) stay whole and the large ones are cut
 * to an equal share, so a bloated field cannot push out the fields triage needs.
 */
export function project(event: Event, fields: readonly string[], budget = MAX_EVENT_BYTES): Projection {
  const found: { field: string; path: string[]; raw: unknown; value: unknown; cut: boolean; bytes: number }[] = [];
  let total = 0;
  for (const field of fields) {
    const path = field.split(".");
    const raw = getRaw(event, path);
    if (raw === undefined) continue;
    const meter = { left: budget, cut: false };
    const value = clip(raw, 0, meter);
    const bytes = budget - meter.left + field.length;
    found.push({ field, path, raw, value, cut: meter.cut, bytes });
    total += bytes;
  }
  if (total > budget) {
    const share = fairShare(found.map((f) => f.bytes), budget);
    for (const f of found) {
      if (f.bytes <= share) continue;
      f.value = clip(f.raw, 0, { left: Math.max(0, share - f.field.length), cut: true });
      f.cut = true;
    }
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const truncated: string[] = [];
  for (const f of found) {
    if (f.cut) truncated.push(f.field);
    setPath(out, f.path, f.value);
  }
  return { event: out, truncated };
}

/** The largest allowance `c` with sum(min(size, c)) <= budget (water-filling). */
function fairShare(sizes: readonly number[], budget: number): number {
  const sorted = [...sizes].sort((a, b) => a - b);
  let left = budget;
  for (let i = 0; i < sorted.length; i++) {
    const rest = sorted.length - i;
    if (sorted[i]! * rest > left) return Math.floor(left / rest);
    left -= sorted[i]!;
  }
  return Infinity;
}

/** The raw JSON value at a dotted path (nested objects or literal dotted keys), own properties only. */
export function getRaw(node: unknown, path: readonly string[], i = 0): unknown {
  if (i === path.length) return node;
  if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
  let key = "";
  for (let j = i; j < path.length; j++) {
    key = j === i ? path[j]! : `${key}.${path[j]!}`;
    if (Object.hasOwn(node, key)) {
      const v = getRaw((node as Record<string, unknown>)[key], path, j + 1);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

interface Meter {
  /** Bytes still allowed. */
  left: number;
  cut: boolean;
}

function clip(v: unknown, depth: number, meter: Meter): unknown {
  if (typeof v === "string") {
    let s = v.length <= MAX_FIELD_CHARS ? v : v.slice(0, MAX_FIELD_CHARS);
    if (s !== v) meter.cut = true;
    let bytes = utf8Bytes(s);
    if (bytes + 2 > meter.left) {
      s = fitBytes(s, meter.left - 2);
      bytes = utf8Bytes(s);
      meter.cut = true;
    }
    meter.left -= bytes + 2;
    return s;
  }
  if (v === null || typeof v !== "object") {
    meter.left -= String(v).length;
    return v;
  }
  if (depth > 4) {
    meter.cut = true;
    return null;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    meter.left -= 2;
    for (const x of v) {
      if (out.length === MAX_ARRAY || meter.left <= 0) {
        meter.cut = true;
        break;
      }
      meter.left -= 1;
      out.push(clip(x, depth + 1, meter));
    }
    return out;
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  meter.left -= 2;
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (n === MAX_ARRAY || meter.left <= 0) {
      meter.cut = true;
      break;
    }
    n++;
    meter.left -= k.length + 4;
    Object.defineProperty(out, k, { value: clip(x, depth + 1, meter), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** The longest prefix of `s` of at most `max` UTF-8 bytes, never ending in half a surrogate pair. */
function fitBytes(s: string, max: number): string {
  if (max <= 0) return "";
  let t = s.slice(0, max);
  for (let b = utf8Bytes(t); b > max; b = utf8Bytes(t)) t = t.slice(0, Math.max(0, Math.floor((t.length * max) / b) - 1));
  const last = t.charCodeAt(t.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? t.slice(0, -1) : t;
}

function setPath(out: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    let next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      next = Object.create(null) as Record<string, unknown>;
      Object.defineProperty(node, k, { value: next, enumerable: true, writable: true, configurable: true });
    }
    node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

/** Plain-object copy (JSON round trip) of a projection, e.g. for storage or printing. */
export function toPlain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
