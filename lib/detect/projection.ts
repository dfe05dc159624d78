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

export interface Projection {
  readonly event: Record<string, unknown>;
  /** Dotted names of the fields whose values were cut. */
  readonly truncated: readonly string[];
}

/**
 * Copies `fields` from `event` into a new nested object. Nested objects are created without a
 * prototype and filled with defineProperty, so a field named `__proto__` is plain data.
 */
export function project(event: Event, fields: readonly string[]): Projection {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const truncated: string[] = [];
  for (const field of fields) {
    const path = field.split(".");
    const raw = getRaw(event, path);
    if (raw === undefined) continue;
    let cut = false;
    const value = clip(raw, 0, () => (cut = true));
    if (cut) truncated.push(field);
    setPath(out, path, value);
  }
  return { event: out, truncated };
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

function clip(v: unknown, depth: number, onCut: () => void): unknown {
  if (typeof v === "string") {
    if (v.length <= MAX_FIELD_CHARS) return v;
    onCut();
    return v.slice(0, MAX_FIELD_CHARS);
  }
  if (v === null || typeof v !== "object") return v;
  if (depth > 4) {
    onCut();
    return null;
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ARRAY) onCut();
    return v.slice(0, MAX_ARRAY).map((x) => clip(x, depth + 1, onCut));
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v).slice(0, MAX_ARRAY)) {
    Object.defineProperty(out, k, { value: clip(x, depth + 1, onCut), enumerable: true, writable: true, configurable: true });
  }
  return out;
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
