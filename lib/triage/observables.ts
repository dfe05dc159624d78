/**
 * Observables from an alert's events: the remote IPs, hosts, users, process images, command lines,
 * hashes and parent -> child relations an analyst pivots on.
 *
 * Every field is attacker-controlled: a value may be an array, a number, an object, a multi-MB
 * string or junk. Nothing here throws (a failing event is skipped, the others still count);
 * strings are cut to `MAX_VALUE_CHARS`, arrays read up to `MAX_VALUES_PER_FIELD` elements, and each
 * observable type is capped at `MAX_PER_TYPE` distinct values. IPs come out canonical (mapped IPv6
 * unwrapped) with `internal` from the special-purpose classifier; hashes only when they are hex of
 * the algorithm's length, lower-cased. Duplicates merge, keeping every event index and the first field.
 *
 * Which end of a connection is remote follows `network.direction` (ECS): egress/outbound ->
 * `destination.ip`; ingress/inbound -> `source.ip`; internal, external, unknown or missing -> both,
 * labelled source/destination. `*.address` stands in for a missing `*.ip` when it holds an address.
 */
import type { Alert } from "../detect/alert.js";
import { getRaw } from "../detect/projection.js";
import type { Observable, ObservableType } from "./result.js";
import { classifyIp } from "./special-addresses.js";

export const MAX_PER_TYPE = 50;
export const MAX_VALUE_CHARS = 2048;
export const MAX_VALUES_PER_FIELD = 16;
/** Events read per alert (sequences have a handful; more is not an alert we produced). */
export const MAX_EVENTS = 256;

const HASH_LENGTHS: Readonly<Record<"md5" | "sha1" | "sha256", number>> = { md5: 32, sha1: 40, sha256: 64 };
const HASH_FIELDS: readonly (readonly [string, "md5" | "sha1" | "sha256"])[] = ["process", "process.parent", "file", "dll"]
  .flatMap((base) => (["md5", "sha1", "sha256"] as const).map((algo) => [`${base}.hash.${algo}`, algo] as const));

const PATHS = new Map<string, readonly string[]>();
function path(field: string): readonly string[] {
  let p = PATHS.get(field);
  if (!p) {
    p = field.split(".");
    PATHS.set(field, p);
  }
  return p;
}

/** String values of a field (scalars as strings, arrays flattened one level), capped. */
function strings(event: unknown, field: string): string[] {
  const raw = getRaw(event, path(field));
  const out: string[] = [];
  const take = (v: unknown): void => {
    if (out.length >= MAX_VALUES_PER_FIELD) return;
    if (typeof v === "string") {
      const s = v.length > MAX_VALUE_CHARS ? v.slice(0, MAX_VALUE_CHARS) : v;
      if (s.trim() !== "") out.push(s);
    } else if (typeof v === "number" && Number.isFinite(v)) out.push(String(v));
  };
  if (Array.isArray(raw)) for (const v of raw.slice(0, MAX_VALUES_PER_FIELD)) take(v);
  else take(raw);
  return out;
}

function first(event: unknown, fields: readonly string[]): { value: string; field: string } | null {
  for (const field of fields) {
    const v = strings(event, field)[0];
    if (v !== undefined) return { value: v, field };
  }
  return null;
}

type Extra = Pick<Observable, "role" | "internal" | "algorithm">;

class Collector {
  private readonly byKey = new Map<string, { obs: Observable & { events: number[] } }>();
  private readonly counts = new Map<ObservableType, number>();

  add(type: ObservableType, value: string, field: string, event: number, extra: Extra = {}): void {
    const key = `${type}\u0000${value}`;
    const existing = this.byKey.get(key);
    if (existing) {
      if (!existing.obs.events.includes(event)) existing.obs.events.push(event);
      return;
    }
    const n = this.counts.get(type) ?? 0;
    if (n >= MAX_PER_TYPE) return;
    this.counts.set(type, n + 1);
    this.byKey.set(key, { obs: { type, value, field, events: [event], ...extra } });
  }

  result(): Observable[] {
    return [...this.byKey.values()].map((x) => x.obs);
  }
}

/** Which ends of a connection are remote, and whether the direction said so. */
function remoteSides(direction: string | undefined): { readonly sides: readonly ("source" | "destination")[]; readonly known: boolean } {
  switch (direction?.toLowerCase()) {
    case "egress":
    case "outbound":
      return { sides: ["destination"], known: true };
    case "ingress":
    case "inbound":
      return { sides: ["source"], known: true };
    default:
      return { sides: ["source", "destination"], known: false };
  }
}

function collectEvent(c: Collector, e: Record<string, unknown>, i: number): void {
  // Remote IPs.
  const { sides, known } = remoteSides(strings(e, "network.direction")[0]);
  for (const side of sides) {
    let values = strings(e, `${side}.ip`);
    let field = `${side}.ip`;
    if (values.length === 0) {
      values = strings(e, `${side}.address`).filter((v) => classifyIp(v).valid);
      field = `${side}.address`;
    }
    for (const v of values) {
      const ip = classifyIp(v);
      if (!ip.valid) continue;
      c.add("ip", ip.ip, field, i, { role: known ? "remote" : side, internal: ip.internal });
    }
  }

  // Hosts.
  for (const field of ["host.name", "host.hostname", "host.id"]) for (const v of strings(e, field)) c.add("host", v, field, i);

  // Users, with their domain when there is one.
  const domain = strings(e, "user.domain")[0];
  for (const name of strings(e, "user.name")) c.add("user", domain ? `${domain}\\${name}` : name, "user.name", i);

  // Process images: the executable, or the name when the path is missing.
  const child = first(e, ["process.executable", "process.name"]);
  const parent = first(e, ["process.parent.executable", "process.parent.name"]);
  if (child) c.add("process", child.value, child.field, i);
  if (parent) c.add("process", parent.value, parent.field, i);
  if (parent && child) c.add("parent_child", `${parent.value} -> ${child.value}`, `${parent.field} -> ${child.field}`, i);

  // Command lines.
  for (const field of ["process.command_line", "process.parent.command_line"]) for (const v of strings(e, field)) c.add("command_line", v, field, i);

  // Hashes.
  for (const [field, algorithm] of HASH_FIELDS) {
    for (const v of strings(e, field)) {
      const h = v.trim().toLowerCase();
      if (h.length === HASH_LENGTHS[algorithm] && /^[0-9a-f]+$/.test(h)) c.add("hash", h, field, i, { algorithm });
    }
  }
}

/** The observables of an alert. Never throws. */
export function extractObservables(alert: Pick<Alert, "events">): Observable[] {
  const c = new Collector();
  const events: unknown = alert?.events;
  if (!Array.isArray(events)) return [];
  for (let i = 0; i < Math.min(events.length, MAX_EVENTS); i++) {
    const e: unknown = events[i];
    if (e === null || typeof e !== "object" || Array.isArray(e)) continue;
    if ((e as Record<string, unknown>).missing === true) continue; // a missing-event stage
    try {
      collectEvent(c, e as Record<string, unknown>, i);
    } catch {
      // A hostile event (a throwing getter, a proxy) costs its own observables, not the alert's.
    }
  }
  return c.result();
}

/** The remote IPs among observables, internal ones included (enrichment answers them "internal"). */
export function remoteIps(observables: readonly Observable[]): string[] {
  return observables.filter((o) => o.type === "ip").map((o) => o.value);
}
