/**
 * The stage index and the `or`-chain index may only skip predicates that cannot match: checked
 * against brute force over all 1,024 production rules and generated Elastic Defend events, and
 * with random events on long `or` chains.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateEvents } from "../bench/generate.js";
import { buildStageIndex, compile, type CompiledStage, type Event } from "../lib/eql/index.js";
import { seedAttack } from "./helpers/seed-attack.js";

interface FixtureRule { readonly name: string; readonly query: string; readonly event_category_override?: string }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/detection-rules/eql-rules.json", import.meta.url), "utf8")) as { rules: FixtureRule[] };

describe("stage index", () => {
  const entries: { stage: CompiledStage; value: string }[] = [];
  for (const r of fixture.rules) {
    if (r.event_category_override) continue;
    const c = compile(r.query);
    if (!c.success) throw new Error(r.name);
    for (const s of [...c.data.stages, ...(c.data.until ? [c.data.until] : [])]) entries.push({ stage: s, value: r.name });
  }
  const index = buildStageIndex(entries);

  it("indexes nearly every production stage by a required value", () => {
    expect(index.stats.stages).toBe(entries.length);
    expect(index.stats.indexed / index.stats.stages).toBeGreaterThan(0.95);
  });

  it("never leaves out a stage an event matches (1,024 rules, realistic events)", () => {
    const events: Event[] = [
      ...generateEvents({ events: 1500, attackSequences: 5, seed: 11 }).lines.map((l) => JSON.parse(l) as Event),
      ...seedAttack(),
    ];
    let matched = 0;
    for (const e of events) {
      const list = index.candidates(e);
      const candidates = new Set(list);
      // a candidate is in its category: its condition alone gives the same answer as matches()
      for (const c of list) expect(c.stage.condition(e), c.value).toBe(c.stage.matches(e));
      for (const entry of entries) {
        if (entry.stage.matches(e)) {
          matched++;
          expect(candidates.has(entry), `${entry.value} matches but is no candidate`).toBe(true);
        }
      }
    }
    expect(matched).toBeGreaterThan(1000);
  });
});

describe("or-chain index", () => {
  const alternatives = [
    'process.name : "a.exe" and not process.parent.name : "x.exe"',
    'process.name : ("B.EXE", "c.exe") and process.args : "*-enc*"',
    'process.name == "d.exe"',
    'process.name in ("e.exe", "f.exe") and user.name != "root"',
    'process.name like~ "G.exe"',
    'process.executable : "*\\\\temp\\\\*"',
    'process.name : "h.exe" or process.pid == 4',
    'process.name in~ ("I.EXE") and process.parent.name != null',
  ];
  const whole = compile(`any where ${alternatives.map((a) => `(${a})`).join(" or ")}`);
  const each = alternatives.map((a) => compile(`any where ${a}`));
  const names = ["a.exe", "A.EXE", "b.exe", "c.exe", "d.exe", "D.exe", "e.exe", "f.exe", "g.exe", "h.exe", "i.exe", "x.exe", "y.exe"];

  it("gives the same answer as the disjuncts one by one", () => {
    if (!whole.success || each.some((c) => !c.success)) throw new Error("compile");
    const event = fc.record({
      process: fc.record({
        name: fc.oneof(fc.constantFrom(...names), fc.array(fc.constantFrom(...names), { maxLength: 3 })),
        parent: fc.record({ name: fc.constantFrom(...names) }, { requiredKeys: [] }),
        args: fc.array(fc.constantFrom("-enc", "x", "-ENC abc"), { maxLength: 3 }),
        executable: fc.constantFrom("C:\\Temp\\a.exe", "C:\\Windows\\b.exe"),
        pid: fc.constantFrom(4, 8),
      }, { requiredKeys: [] }),
      user: fc.record({ name: fc.constantFrom("root", "bob") }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    fc.assert(
      fc.property(event, (e) => {
        const expected = each.some((c) => c.success && c.data.stages[0]!.matches(e as Event));
        expect(whole.data.stages[0]!.matches(e as Event)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
