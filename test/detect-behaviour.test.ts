/**
 * Detection behaviour beyond the reference semantics: rule scope, suppression, exceptions, the
 * alert cap, building blocks, retraction by late events, timers, and redelivery (counted once).
 */
import { describe, expect, it } from "vitest";
import { compile, type Event } from "../lib/eql/index.js";
import { detectBatch, sweepTimers, type DetectContext } from "../lib/detect/engine.js";
import { buildDetectionRule, type DetectionRule } from "../lib/detect/rule.js";
import { partitionKey } from "../lib/detect/keys.js";
import { compileIndexScope } from "../lib/detect/scope.js";
import type { Rule } from "../lib/rules/index.js";
import { MemoryItemStore } from "../lib/store/memory.js";
import { accepted } from "./helpers/detect-harness.js";
import { seedAttack } from "./helpers/seed-attack.js";

const T0 = Date.parse("2026-11-20T10:00:00.000Z");

function rule(query: string, extra: Record<string, unknown> = {}, extras: Parameters<typeof buildDetectionRule>[2] = {}): DetectionRule {
  const c = compile(query);
  if (!c.success) throw new Error(c.errors.map((e) => e.pretty()).join("\n"));
  const r = { rule_id: "r1", name: "rule", severity: "medium", risk_score: 47, threat: [], from: "now-9m", ...extra } as unknown as Rule;
  return buildDetectionRule(r, c.data, extras);
}

function proc(n: number, ms: number, extra: Record<string, unknown> = {}): Event {
  return { "@timestamp": new Date(T0 + ms).toISOString(), event: { id: `p${n}`, category: ["process"], action: "start" }, host: { id: "h1", name: "win-1" }, process: { name: "evil.exe", pid: n }, user: { name: "bob" }, ...extra };
}

async function run(ctx: DetectContext, events: Event[], nowMs = T0 + 60_000) {
  return detectBatch(ctx, events.map((e) => accepted(e)), nowMs);
}

describe("event queries", () => {
  it("alert once per event, and redelivery does not duplicate", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where process.name : "evil.exe"')] };
    const first = await run(ctx, [proc(1, 0), proc(2, 10)]);
    expect(first.alerts.map((a) => (a.events[0] as { event: { id: string } }).event.id)).toEqual(["p1", "p2"]);
    const again = await run(ctx, [proc(1, 0), proc(2, 10)]);
    expect(again.alerts).toEqual([]);
  });

  it("carry the rule, group, times and the projected event", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where process.name : "evil.exe"', { threat: [{ framework: "MITRE ATT&CK", tactic: { id: "TA0002", name: "Execution", reference: "x" }, technique: [{ id: "T1204", name: "User Execution", reference: "y" }] }] })] };
    const [a] = (await run(ctx, [proc(1, 0, { huge: "x".repeat(10_000) })])).alerts;
    expect(a).toMatchObject({
      status: "open", rule: { id: "r1", severity: "medium", risk_score: 47, building_block: false, threat: [{ tactic: "Execution", technique: "T1204" }] },
      first_seen: "2026-11-20T10:00:00.000Z", last_seen: "2026-11-20T10:00:00.000Z", suppressed_count: 0,
    });
    expect(a!.events[0]).toMatchObject({ process: { name: "evil.exe" }, host: { id: "h1" } });
    expect((a!.events[0] as Record<string, unknown>).huge).toBeUndefined(); // not a field the rule or triage reads
  });
});

describe("rule scope", () => {
  it("only events of the rule's index patterns (or without a data stream) reach the rule", async () => {
    const scoped = rule('process where process.name : "evil.exe"', {}, { inScope: compileIndexScope(["logs-endpoint.events.process-*"]) });
    const ctx = { store: new MemoryItemStore(), rules: [scoped] };
    const ds = (dataset: string) => ({ data_stream: { type: "logs", dataset, namespace: "default" } });
    const out = await run(ctx, [proc(1, 0, ds("endpoint.events.process")), proc(2, 0, ds("windows.sysmon_operational")), proc(3, 0)]);
    expect(out.alerts.map((a) => (a.events[0] as { event: { id: string } }).event.id)).toEqual(["p1", "p3"]);
  });
});

describe("suppression", () => {
  const suppressing = () => rule('process where process.name : "evil.exe"', { alert_suppression: { group_by: ["host.name"], duration: { value: 5, unit: "m" }, missing_fields_strategy: "suppress" } });

  it("keeps one alert per group and window and counts the rest once per match", async () => {
    const store = new MemoryItemStore();
    const ctx = { store, rules: [suppressing()] };
    const a = await run(ctx, [proc(1, 0), proc(2, 1000), proc(3, 2000)]);
    expect(a.alerts).toHaveLength(1);
    expect(a.stats.suppressed).toBe(2);
    // redelivery of the suppressed events does not count them again
    const b = await run(ctx, [proc(2, 1000), proc(3, 2000)]);
    expect(b.alerts).toHaveLength(0);
    expect(b.stats.suppressed).toBe(0);
    const item = await store.get({ pk: `alert#${a.alerts[0]!.id}`, sk: "alert" }, { nowSec: 0 });
    expect(item?.suppressed_count).toBe(2);
    // a new window (event time) raises a new alert
    const c = await run(ctx, [proc(4, 6 * 60_000)], T0 + 7 * 60_000);
    expect(c.alerts).toHaveLength(1);
  });

  it("separates groups, and doNotSuppress alerts on every match missing a group field", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where process.name : "evil.exe"', { alert_suppression: { group_by: ["user.name"], missing_fields_strategy: "doNotSuppress" } })] };
    const out = await run(ctx, [proc(1, 0), proc(2, 1, { user: { name: "alice" } }), proc(3, 2, { user: {} }), proc(4, 3, { user: {} })]);
    expect(out.alerts.map((a) => (a.events[0] as { event: { id: string } }).event.id)).toEqual(["p1", "p2", "p3", "p4"]);
  });
});

describe("exceptions", () => {
  it("an event matching an exception item raises no alert, for event queries and sequences", async () => {
    const exception = (e: Event) => ((e.process as { name?: string } | undefined)?.name === "allowed.exe" ? "item-1" : null);
    const ctx = {
      store: new MemoryItemStore(),
      rules: [rule('process where true', {}, { exception }), rule('sequence by host.id [process where true] [process where true]', { rule_id: "r2" }, { exception })],
    };
    const out = await run(ctx, [proc(1, 0, { process: { name: "allowed.exe" } }), proc(2, 10)]);
    expect(out.alerts.map((a) => `${a.rule.id}:${a.events.map((e) => (e as { event: { id: string } }).event.id).join(",")}`)).toEqual(["r1:p2"]);
    expect(out.stats.excepted).toBe(2);
    // redelivered: excepted again, but counted once
    const again = await run(ctx, [proc(1, 0, { process: { name: "allowed.exe" } }), proc(2, 10)]);
    expect(again.alerts).toEqual([]);
    expect(again.stats.excepted).toBe(0);
  });
});

describe("alert cap", () => {
  it("redelivered alerts do not use up the cap", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where true', { max_signals: 2, interval: "5m" })] };
    expect((await run(ctx, [proc(1, 0)])).alerts).toHaveLength(1);
    expect((await run(ctx, [proc(1, 0)])).alerts).toHaveLength(0);
    expect((await run(ctx, [proc(1, 0)])).stats.capped).toBe(0);
    expect((await run(ctx, [proc(2, 1)])).alerts).toHaveLength(1);
  });

  it("caps alerts per rule per interval and counts the capped matches", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where true', { max_signals: 2, interval: "5m" })] };
    const out = await run(ctx, [proc(1, 0), proc(2, 1), proc(3, 2), proc(4, 3)]);
    expect(out.alerts).toHaveLength(2);
    expect(out.stats.capped).toBe(2);
    // the capped matches redelivered are counted once
    expect((await run(ctx, [proc(3, 2), proc(4, 3)])).stats.capped).toBe(0);
    const next = await run(ctx, [proc(5, 4)], T0 + 6 * 60_000);
    expect(next.alerts).toHaveLength(1);
  });
});

describe("building blocks", () => {
  it("are stored alerts flagged as building blocks", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('process where true', { building_block_type: "default" })] };
    const [a] = (await run(ctx, [proc(1, 0)])).alerts;
    expect(a!.rule.building_block).toBe(true);
  });
});

describe("sequences in the stream", () => {
  it("a late first-stage event completes a sequence whose later stages came earlier", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('sequence by host.id with maxspan=1m [process where process.pid == 1] [process where process.pid == 2]')] };
    expect((await run(ctx, [proc(2, 5000, { process: { pid: 2 } })])).alerts).toHaveLength(0);
    const late = await run(ctx, [proc(1, 1000, { process: { pid: 1 } })], T0 + 5 * 60_000);
    expect(late.alerts).toHaveLength(1);
  });

  it("a late until event retracts the alert it invalidates", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('sequence by host.id with maxspan=1m [process where process.pid == 1] [process where process.pid == 2] until [process where process.pid == 9]')] };
    const raised = await run(ctx, [proc(1, 0, { process: { pid: 1 } }), proc(2, 20_000, { process: { pid: 2 } })]);
    expect(raised.alerts).toHaveLength(1);
    const out = await run(ctx, [proc(9, 10_000, { process: { pid: 9 } })], T0 + 2 * 60_000);
    expect(out.retracted.map((a) => [a.id, a.status])).toEqual([[raised.alerts[0]!.id, "retracted"]]);
    expect((await run(ctx, [proc(9, 10_000, { process: { pid: 9 } })], T0 + 2 * 60_000)).retracted).toEqual([]);
  });

  it("a trailing missing stage waits for its timer, and a late missing event prevents the alert", async () => {
    const q = 'sequence by host.id with maxspan=1m [process where process.pid == 1] ![process where process.pid == 3]';
    const ctx = { store: new MemoryItemStore(), rules: [rule(q)], options: { allowedLatenessMs: 60_000 } };
    const first = await run(ctx, [proc(1, 0, { process: { pid: 1 } }), proc(11, 100_000, { process: { pid: 1 }, host: { id: "h2" } })], T0);
    expect(first.alerts).toHaveLength(0);
    expect(first.stats.timers).toBe(2);
    // the missing event of h1 arrives before the timer fires
    await run(ctx, [proc(3, 30_000, { process: { pid: 3 } })], T0 + 60_000);
    const swept = await sweepTimers(ctx, T0 + 10 * 60_000, Math.floor(T0 / 60_000));
    expect(swept.alerts.map((a) => a.group.by)).toEqual([["h2"]]);
  });

  it("until and missing-stage hits are stored as one summary per partition and batch, not as rows", async () => {
    const store = new MemoryItemStore();
    const q = 'sequence by host.id with maxspan=1m [process where process.pid == 1] ![process where process.pid == 3] [process where process.pid == 2] until [process where process.pid == 9]';
    const ctx = { store, rules: [rule(q)] };
    const negatives = [proc(3, 1000, { process: { pid: 3 } }), proc(9, 5000, { process: { pid: 9 } }), proc(4, 3000, { process: { pid: 3 } })];
    const out = await run(ctx, [proc(1, 0, { process: { pid: 1 } }), ...negatives]);
    expect(out.stats).toMatchObject({ candidates: 2, summarized: 3 });
    const items = await store.query(partitionKey("r1", ["h1"]), {}, { nowSec: 0 });
    expect(items.map((i) => i.kind).sort()).toEqual(["row", "sum"]);
    const summary = items.find((i) => i.kind === "sum")!;
    expect(summary.n).toBe(3);
    // the hits are positions only: no projection of the events is kept
    expect(JSON.stringify(summary)).not.toContain("evil.exe");
    // a redelivered batch rewrites the same summary item
    await run(ctx, negatives);
    expect(await store.query(partitionKey("r1", ["h1"]), {}, { nowSec: 0 })).toHaveLength(2);
    // and the summarised hits still decide: the missing events between p1 and p2 reject the match
    expect((await run(ctx, [proc(2, 4000, { process: { pid: 2 } })])).alerts).toEqual([]);
    const h2 = { host: { id: "h2" } };
    const clean = await run(ctx, [proc(21, 0, { process: { pid: 1 }, ...h2 }), proc(29, 5000, { process: { pid: 9 }, ...h2 }), proc(22, 4000, { process: { pid: 2 }, ...h2 })]);
    expect(clean.alerts.map((a) => a.events.map((e) => (e as { event?: { id: string } }).event?.id ?? "missing"))).toEqual([["p21", "missing", "p22"]]);
  });

  it("a flood of until hits in one partition is split into bounded summaries; a huge tiebreaker is bounded", async () => {
    const store = new MemoryItemStore();
    const ctx = { store, rules: [rule('sequence by host.id with maxspan=1m [process where process.pid == 1] [process where process.pid == 2] until [process where process.pid == 9]')] };
    const flood = Array.from({ length: 1200 }, (_, i) => proc(1000 + i, 1000 + i, { process: { pid: 9 }, event: { id: `u${i}`, category: ["process"], action: "start", sequence: "s".repeat(100_000) } }));
    const out = await run(ctx, flood);
    expect(out.stats).toMatchObject({ summarized: 1200, candidates: 3 });
    const items = await store.query(partitionKey("r1", ["h1"]), {}, { nowSec: 0 });
    expect(items.map((i) => i.n)).toEqual(expect.arrayContaining([500, 500, 200]));
    for (const i of items) expect((i.z as Uint8Array).length).toBeLessThan(100_000);
    // the hits still cancel: p1, then the flood, then p2 gives nothing; a pair after the flood alerts
    expect((await run(ctx, [proc(1, 500, { process: { pid: 1 } }), proc(2, 5000, { process: { pid: 2 } })])).alerts).toEqual([]);
    const after = await run(ctx, [proc(3, 3000, { process: { pid: 1 } }), proc(4, 3500, { process: { pid: 2 } })]);
    expect(after.alerts.map((a) => a.events.map((e) => (e as { event: { id: string } }).event.id))).toEqual([["p3", "p4"]]);
  });

  it("the partition window cap counts the hits inside summaries, not just the items", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('sequence by host.id with maxspan=1m [process where process.pid == 1] [process where process.pid == 2] until [process where process.pid == 9]')], options: { partitionWindowCap: 100 } };
    const flood = Array.from({ length: 300 }, (_, i) => proc(1000 + i, 1000 + i, { process: { pid: 9 }, event: { id: `u${i}`, category: ["process"], action: "start" } }));
    const out = await run(ctx, flood);
    expect(out.stats.candidates).toBe(1); // one summary item
    expect(out.stats.partitionOverflows).toBe(1);
  });

  it("sample rules alert on a combination within the look-back, each event used once per stage", async () => {
    const ctx = { store: new MemoryItemStore(), rules: [rule('sample by host.id [process where process.pid == 1] [process where process.pid == 2]', { from: "now-5m" })] };
    const a = await run(ctx, [proc(1, 0, { process: { pid: 1 } }), proc(2, 1000, { process: { pid: 2 } })]);
    expect(a.alerts.map((x) => x.events.map((e) => (e as { event: { id: string } }).event.id))).toEqual([["p1", "p2"]]);
    // a later pair makes a new sample; events beyond the look-back never join an old one
    const b = await run(ctx, [proc(3, 2000, { process: { pid: 1 } }), proc(4, 10 * 60_000, { process: { pid: 2 } })], T0 + 11 * 60_000);
    expect(b.alerts).toEqual([]);
    const c = await run(ctx, [proc(5, 10 * 60_000 + 1, { process: { pid: 1 } })], T0 + 11 * 60_000);
    expect(c.alerts.map((x) => x.events.map((e) => (e as { event: { id: string } }).event.id))).toEqual([["p5", "p4"]]);
  });

  it("seed rule: an event later than the allowed lateness is counted as late", async () => {
    const seed = rule(
      'sequence with maxspan=1m [process where process.name : "msiexec.exe"] by process.entity_id [network where true] by process.entity_id',
    );
    const ctx = { store: new MemoryItemStore(), rules: [seed] };
    const [start, net] = seedAttack();
    const out = await run(ctx, [start!, net!], T0 + 60 * 60_000);
    expect(out.stats.late).toBe(2);
  });

  it("reports a partition failure with the origins of its events, and the others go on", async () => {
    const store = new MemoryItemStore();
    const failing = {
      ...store,
      batchPut: store.batchPut.bind(store),
      get: store.get.bind(store),
      update: store.update.bind(store),
      transact: store.transact.bind(store),
      delete: store.delete.bind(store),
      query: async (pk: string, range: object, options: { nowSec: number }) => {
        if (pk === partitionKey("r1", ["h-bad"])) throw new Error("throttled");
        return store.query(pk, range, options);
      },
    };
    const ctx = { store: failing, rules: [rule('sequence by host.id [process where process.pid == 1] [process where process.pid == 2]')] };
    const events = [
      accepted(proc(1, 0, { process: { pid: 1 }, host: { id: "h-bad" } }), "msg-a"),
      accepted(proc(2, 10, { process: { pid: 2 }, host: { id: "h-bad" } }), "msg-b"),
      accepted(proc(3, 0, { process: { pid: 1 }, host: { id: "h-ok" } }), "msg-c"),
      accepted(proc(4, 10, { process: { pid: 2 }, host: { id: "h-ok" } }), "msg-d"),
    ];
    const out = await detectBatch(ctx, events, T0 + 60_000);
    expect(out.alerts.map((a) => a.group.by)).toEqual([["h-ok"]]);
    expect(out.failures.map((f) => [f.origins.map((o) => o.messageId), f.error])).toEqual([[["msg-a", "msg-b"], "Error: throttled"]]);
  });
});
