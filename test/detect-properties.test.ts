/**
 * The streaming detector against the batch evaluator (the reference), on generated streams of
 * seed-rule attacks, near misses and noise (DESIGN.md "Streaming sequences", tested properties):
 * 1. in time order, any batching gives exactly the reference alerts;
 * 2. under arrival permutations within the allowed lateness, with duplicate deliveries: every
 *    alert is a valid match of its own events, no (event, stage) pair is in two alerts of the
 *    same rule and key, and every reference match shares an event with a raised alert.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluate, eventIdentity, type Event } from "../lib/eql/index.js";
import type { DetectionRule } from "../lib/detect/rule.js";
import { alertMembers, referenceMatches, replay, testRule } from "./helpers/detect-harness.js";

const NUM_RUNS = Number(process.env.DETECT_RUNS ?? 25);
const T0 = Date.parse("2026-11-20T10:00:00.000Z");
const seedQuery = readFileSync(new URL("../rules/initial_access_execution_remote_via_msiexec.toml", import.meta.url), "utf8").split("query = '''")[1]!.split("'''")[0]!;

const RULES: Record<string, DetectionRule> = {
  seed: testRule(seedQuery, { rule_id: "seed" }),
  until: testRule('sequence by host.id with maxspan=30s [process where event.action == "start"] [network where true] until [process where event.action == "end"]', { rule_id: "until" }),
  runs: testRule('sequence by host.id with maxspan=1m [authentication where event.outcome == "failure"] with runs=3 [authentication where event.outcome == "success"]', { rule_id: "runs" }),
  trailing: testRule('sequence by host.id with maxspan=1m [process where event.action == "start"] ![process where event.action == "end"]', { rule_id: "trailing" }),
};

let serial = 0;
function ev(tsMs: number, body: Record<string, unknown>): Event {
  serial++;
  return { "@timestamp": new Date(tsMs).toISOString(), ...body, event: { id: `e${serial}`, ...(body.event as object) } };
}

type Scenario =
  | { kind: "attack" | "citrix" | "syspath" | "wrongKey" | "slow" | "noV" | "noise" | "auth" | "procNet" | "startEnd"; at: number; d1: number; d2: number; host: number };

const scenario: fc.Arbitrary<Scenario> = fc.record({
  kind: fc.constantFrom("attack", "attack", "citrix", "syspath", "wrongKey", "slow", "noV", "noise", "auth", "procNet", "startEnd"),
  at: fc.integer({ min: 0, max: 600_000 }),
  d1: fc.integer({ min: 0, max: 40_000 }),
  d2: fc.integer({ min: 0, max: 40_000 }),
  host: fc.integer({ min: 0, max: 2 }),
}) as fc.Arbitrary<Scenario>;

function events(s: Scenario, n: number): Event[] {
  const t = T0 + s.at;
  const host = { id: `h${s.host}`, os: { type: "windows" } };
  const user = { id: "S-1-5-21-1-2-3-1001" };
  const ent = `ent-${n}`;
  const msiexec = (args: string[]) => ev(t, { event: { category: ["process"], action: "start" }, host, user, process: { name: "msiexec.exe", args, entity_id: ent } });
  const net = () => ev(t + s.d1, { event: { category: ["network"], action: "connection_attempted" }, host, process: { name: "msiexec.exe", entity_id: ent } });
  const child = (extra: Record<string, unknown>, delay = s.d1 + s.d2) =>
    ev(t + delay, { event: { category: ["process"], action: "start" }, host, user, process: { name: "payload.exe", executable: "C:\\Users\\x\\payload.exe", parent: { name: "msiexec.exe", entity_id: ent }, entity_id: `${ent}-c`, ...extra } });
  switch (s.kind) {
    case "attack": return [msiexec(["msiexec.exe", "/V"]), net(), child({})];
    case "citrix": return [msiexec(["/V"]), net(), child({ code_signature: { subject_name: "Citrix Systems, Inc.", trusted: true } })];
    case "syspath": return [msiexec(["/V"]), net(), child({ executable: "C:\\Windows\\System32\\srtasks.exe" })];
    case "wrongKey": return [msiexec(["/V"]), net(), child({ parent: { name: "msiexec.exe", entity_id: "someone-else" } })];
    case "slow": return [msiexec(["/V"]), net(), child({}, 61_000 + s.d2)];
    case "noV": return [msiexec(["/i"]), net(), child({})];
    case "noise": return [ev(t, { event: { category: ["process"], action: "start" }, host, process: { name: "svchost.exe", entity_id: `n-${n}` } })];
    case "auth": return [0, 1, 2, 3].map((k) => ev(t + k * (s.d1 % 9000), { event: { category: ["authentication"], outcome: k < 3 || s.d2 % 2 === 0 ? "failure" : "success" }, host }))
      .concat([ev(t + 3 * (s.d1 % 9000) + s.d2 % 20_000, { event: { category: ["authentication"], outcome: "success" }, host })]);
    case "procNet": return [ev(t, { event: { category: ["process"], action: "start" }, host }), ev(t + s.d1 % 30_000, { event: { category: ["network"], action: "connection_accepted" }, host })];
    case "startEnd": return [ev(t, { event: { category: ["process"], action: "start" }, host }), ...(s.d2 % 3 === 0 ? [] : [ev(t + s.d1 * 2, { event: { category: ["process"], action: "end" }, host })])];
  }
}

function stream(scenarios: Scenario[]): Event[] {
  serial = 0;
  const all = scenarios.flatMap((s, n) => events(s, n));
  return all.sort((a, b) => Date.parse(a["@timestamp"] as string) - Date.parse(b["@timestamp"] as string) || eventIdentity(a).localeCompare(eventIdentity(b)));
}

const key = (members: string[]) => members.join(",");
const streams = fc.array(scenario, { minLength: 1, maxLength: 14 });
const batching = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 });

for (const [name, rule] of Object.entries(RULES)) {
  describe(`streaming = batch reference: ${name} rule`, () => {
    it("in time order, any batching gives exactly the reference alerts", async () => {
      await fc.assert(
        fc.asyncProperty(streams, batching, async (scenarios, sizes) => {
          const evs = stream(scenarios);
          const expected = referenceMatches(rule, evs).map(key).sort();
          const { alerts } = await replay([rule], evs, sizes);
          expect(alerts.map((a) => key(alertMembers(a))).sort()).toEqual(expected);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it("out of order within the lateness, with duplicates: sound, exclusive and complete", async () => {
      await fc.assert(
        fc.asyncProperty(streams, batching, fc.array(fc.integer({ min: 0, max: 14 * 60_000 }), { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 8 }), async (scenarios, sizes, delays, dups) => {
          const evs = stream(scenarios);
          // Arrival = event time + a delay within the allowed lateness (15 min); some delivered twice.
          const arrivals = evs.map((e, i) => ({ e, at: Date.parse(e["@timestamp"] as string) + delays[i % delays.length]! }));
          for (const d of dups) if (evs.length > 0) arrivals.push({ e: evs[d % evs.length]!, at: arrivals[d % evs.length]!.at + (d % 5000) });
          arrivals.sort((a, b) => a.at - b.at);
          const { alerts } = await replay([rule], arrivals.map((a) => a.e), sizes);
          const byId = new Map(evs.map((e) => [eventIdentity(e), e]));
          const used = new Set<string>();
          for (const a of alerts) {
            const members = alertMembers(a);
            // sound: the batch evaluator finds exactly this match among the alert's own events
            const own = members.filter((m) => m !== "-").map((m) => byId.get(m)!);
            const again = evaluate(rule.query, own, { tiebreakerField: "event.sequence" }).results.map((r) => r.kind === "event" ? [eventIdentity(r.event)] : r.events.map((x) => (x === null ? "-" : eventIdentity(x))));
            expect(again.map(key), `alert ${key(members)}`).toContain(key(members));
            // exclusive: an (event, stage) pair is in one alert of a rule and key
            members.forEach((m, stage) => {
              if (m === "-") return;
              const pair = `${JSON.stringify(a.group.by)}|${m}|${stage}`;
              expect(used.has(pair), `pair ${pair} in two alerts`).toBe(false);
              used.add(pair);
            });
          }
          // complete: every reference match shares an event with a raised alert of the same key
          const raised = alerts.map((a) => new Set(alertMembers(a).filter((m) => m !== "-")));
          for (const ref of referenceMatches(rule, evs)) {
            const ids = ref.filter((m) => m !== "-");
            expect(raised.some((set) => ids.some((id) => set.has(id))), `reference ${key(ref)} missed`).toBe(true);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });
}
