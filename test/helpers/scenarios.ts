/**
 * Generated streams for the detector's property tests: seed-rule attacks, near misses (signed
 * child, system path, wrong join key, too slow, no /V), noise, and events for the until, runs and
 * trailing-missing rules. Shared by the in-memory properties and the handler properties on
 * DynamoDB Local.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { eventIdentity, type Event } from "../../lib/eql/index.js";

export const SEED_QUERY = readFileSync(new URL("../../rules/initial_access_execution_remote_via_msiexec.toml", import.meta.url), "utf8").split("query = '''")[1]!.split("'''")[0]!;

export const RULE_QUERIES = {
  seed: SEED_QUERY,
  until: 'sequence by host.id with maxspan=30s [process where event.action == "start"] [network where true] until [process where event.action == "end"]',
  runs: 'sequence by host.id with maxspan=1m [authentication where event.outcome == "failure"] with runs=3 [authentication where event.outcome == "success"]',
  trailing: 'sequence by host.id with maxspan=1m [process where event.action == "start"] ![process where event.action == "end"]',
  middle: 'sequence by host.id with maxspan=30s [process where event.action == "start"] ![process where event.action == "end"] [network where true]',
} as const;

export type Scenario =
  | { kind: "attack" | "citrix" | "syspath" | "wrongKey" | "slow" | "noV" | "noise" | "auth" | "procNet" | "startEnd" | "startEndNet"; at: number; d1: number; d2: number; host: number };

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  kind: fc.constantFrom("attack", "attack", "citrix", "syspath", "wrongKey", "slow", "noV", "noise", "auth", "procNet", "startEnd", "startEndNet"),
  at: fc.integer({ min: 0, max: 600_000 }),
  d1: fc.integer({ min: 0, max: 40_000 }),
  d2: fc.integer({ min: 0, max: 40_000 }),
  host: fc.integer({ min: 0, max: 2 }),
}) as fc.Arbitrary<Scenario>;

export interface StreamOptions {
  /** Time of offset 0. @default 2026-11-20T10:00:00Z */
  readonly t0?: number;
  /** Prefix of event ids, entity ids and host ids, so that runs sharing a table do not meet. */
  readonly prefix?: string;
}

/** The events of all scenarios in time order (ties by identity). */
export function stream(scenarios: readonly Scenario[], options: StreamOptions = {}): Event[] {
  const t0 = options.t0 ?? Date.parse("2026-11-20T10:00:00.000Z");
  const p = options.prefix ?? "";
  let serial = 0;
  const ev = (tsMs: number, body: Record<string, unknown>): Event => {
    serial++;
    return { "@timestamp": new Date(tsMs).toISOString(), ...body, event: { id: `${p}e${serial}`, ...(body.event as object) } };
  };
  const events = (s: Scenario, n: number): Event[] => {
    const t = t0 + s.at;
    const host = { id: `${p}h${s.host}`, os: { type: "windows" } };
    const user = { id: "S-1-5-21-1-2-3-1001" };
    const ent = `${p}ent-${n}`;
    const msiexec = (args: string[]) => ev(t, { event: { category: ["process"], action: "start" }, host, user, process: { name: "msiexec.exe", args, entity_id: ent } });
    const net = () => ev(t + s.d1, { event: { category: ["network"], action: "connection_attempted" }, host, process: { name: "msiexec.exe", entity_id: ent } });
    const child = (extra: Record<string, unknown>, delay = s.d1 + s.d2) =>
      ev(t + delay, { event: { category: ["process"], action: "start" }, host, user, process: { name: "payload.exe", executable: "C:\\Users\\x\\payload.exe", parent: { name: "msiexec.exe", entity_id: ent }, entity_id: `${ent}-c`, ...extra } });
    switch (s.kind) {
      case "attack": return [msiexec(["msiexec.exe", "/V"]), net(), child({})];
      case "citrix": return [msiexec(["/V"]), net(), child({ code_signature: { subject_name: "Citrix Systems, Inc.", trusted: true } })];
      case "syspath": return [msiexec(["/V"]), net(), child({ executable: "C:\\Windows\\System32\\srtasks.exe" })];
      case "wrongKey": return [msiexec(["/V"]), net(), child({ parent: { name: "msiexec.exe", entity_id: `${p}someone-else` } })];
      case "slow": return [msiexec(["/V"]), net(), child({}, 61_000 + s.d2)];
      case "noV": return [msiexec(["/i"]), net(), child({})];
      case "noise": return [ev(t, { event: { category: ["process"], action: "start" }, host, process: { name: "svchost.exe", entity_id: `${p}n-${n}` } })];
      case "auth": return [0, 1, 2, 3].map((k) => ev(t + k * (s.d1 % 9000), { event: { category: ["authentication"], outcome: k < 3 || s.d2 % 2 === 0 ? "failure" : "success" }, host }))
        .concat([ev(t + 3 * (s.d1 % 9000) + s.d2 % 20_000, { event: { category: ["authentication"], outcome: "success" }, host })]);
      case "procNet": return [ev(t, { event: { category: ["process"], action: "start" }, host }), ev(t + s.d1 % 30_000, { event: { category: ["network"], action: "connection_accepted" }, host })];
      // An end between a start and a network event: the until rule's cancel, the middle rule's gap.
      case "startEndNet": return [
        ev(t, { event: { category: ["process"], action: "start" }, host }),
        ...(s.d2 % 3 === 0 ? [] : [ev(t + (s.d1 % 20_000), { event: { category: ["process"], action: "end" }, host })]),
        ev(t + (s.d1 % 20_000) + (s.d2 % 15_000), { event: { category: ["network"], action: "connection_accepted" }, host }),
      ];
      case "startEnd": return [ev(t, { event: { category: ["process"], action: "start" }, host }), ...(s.d2 % 3 === 0 ? [] : [ev(t + s.d1 * 2, { event: { category: ["process"], action: "end" }, host })])];
    }
  };
  const all = scenarios.flatMap((s, n) => events(s, n));
  return all.sort((a, b) => Date.parse(a["@timestamp"] as string) - Date.parse(b["@timestamp"] as string) || eventIdentity(a).localeCompare(eventIdentity(b)));
}
