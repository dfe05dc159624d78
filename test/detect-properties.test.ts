/**
 * The streaming detector against the batch evaluator (the reference), on generated streams of
 * seed-rule attacks, near misses and noise (DESIGN.md "Streaming sequences", tested properties):
 * 1. in time order, any batching gives exactly the reference alerts;
 * 2. under arrival permutations within the allowed lateness, with duplicate deliveries: every
 *    alert is a valid match of its own events, no (event, stage) pair is in two alerts of the
 *    same rule and key, and every reference match shares an event with a raised alert.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate, eventIdentity } from "../lib/eql/index.js";
import type { DetectionRule } from "../lib/detect/rule.js";
import { alertMembers, referenceMatches, replay, testRule } from "./helpers/detect-harness.js";
import { RULE_QUERIES, scenario, stream } from "./helpers/scenarios.js";

const NUM_RUNS = Number(process.env.DETECT_RUNS ?? 25);

const RULES: Record<string, DetectionRule> = Object.fromEntries(Object.entries(RULE_QUERIES).map(([id, q]) => [id, testRule(q, { rule_id: id })]));

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
