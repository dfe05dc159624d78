/**
 * Runs the streaming detector the way `triage replay` does (in-memory store, a clock that follows
 * the events, timers swept at the end), for property tests against the batch evaluator.
 */
import { compile, eventIdentity, evaluate, parseTimestamp, type Event } from "../../lib/eql/index.js";
import { detectBatch, sweepTimers, type BatchOutcome } from "../../lib/detect/engine.js";
import { buildDetectionRule, type DetectionRule } from "../../lib/detect/rule.js";
import type { Alert } from "../../lib/detect/alert.js";
import type { AcceptedEvent } from "../../lib/ingest/types.js";
import type { Rule } from "../../lib/rules/index.js";
import { MemoryItemStore } from "../../lib/store/memory.js";

export function testRule(query: string, extra: Partial<Rule> = {}): DetectionRule {
  const compiled = compile(query);
  if (!compiled.success) throw new Error(compiled.errors.map((e) => e.pretty()).join("\n"));
  const rule = {
    rule_id: extra.rule_id ?? "rule-1", name: "test rule", description: "d", type: "eql", language: "eql", query,
    severity: "low", risk_score: 21, author: ["t"], license: "Elastic License v2", threat: [], tags: [], references: [],
    false_positives: [], from: "now-9m", ...extra,
  } as unknown as Rule;
  return buildDetectionRule(rule, compiled.data);
}

export function accepted(event: Event, messageId = "m"): AcceptedEvent {
  const ts = parseTimestamp(event["@timestamp"]);
  if (ts === null) throw new Error("test event without timestamp");
  return { event: event as Record<string, unknown>, ts, id: eventIdentity(event), origin: { messageId } };
}

export interface ReplayResult {
  readonly alerts: Alert[];
  readonly retracted: Alert[];
  readonly outcomes: BatchOutcome[];
  readonly store: MemoryItemStore;
}

/** Feeds `deliveries` (possibly out of order, possibly repeated) in batches, clock = max event time. */
export async function replay(rules: readonly DetectionRule[], deliveries: readonly Event[], batchSizes: readonly number[]): Promise<ReplayResult> {
  const store = new MemoryItemStore();
  const ctx = { store, rules };
  const alerts: Alert[] = [];
  const retracted: Alert[] = [];
  const outcomes: BatchOutcome[] = [];
  let clock = 0;
  let nextMinute: number | null = null;
  let i = 0;
  let b = 0;
  while (i < deliveries.length) {
    const n = Math.max(1, batchSizes[b++ % Math.max(1, batchSizes.length)] ?? 10);
    const batch = deliveries.slice(i, i + n).map((e) => accepted(e));
    i += n;
    for (const a of batch) clock = Math.max(clock, Number(a.ts / 1_000_000n));
    const out = await detectBatch(ctx, batch, clock);
    outcomes.push(out);
    alerts.push(...out.alerts);
    retracted.push(...out.retracted);
    nextMinute ??= Math.floor(clock / 60_000);
    const swept = await sweepTimers(ctx, clock, nextMinute);
    nextMinute = swept.nextMinute;
    outcomes.push(swept);
    alerts.push(...swept.alerts);
  }
  // End of input: advance the clock past every pending timer.
  const horizon = Math.max(0, ...rules.map((r) => Number(r.windowNs / 1_000_000n))) + 16 * 60_000;
  const end = await sweepTimers(ctx, clock + horizon, nextMinute ?? 0);
  outcomes.push(end);
  alerts.push(...end.alerts);
  return { alerts, retracted, outcomes, store };
}

/** Member event ids of each reference match (the batch evaluator over the whole stream). */
export function referenceMatches(rule: DetectionRule, events: readonly Event[]): string[][] {
  return evaluate(rule.query, events, { tiebreakerField: "event.sequence" }).results.map((r) =>
    r.kind === "event" ? [eventIdentity(r.event)] : r.events.map((e) => (e === null ? "-" : eventIdentity(e))),
  );
}

export function alertMembers(alert: Alert): string[] {
  return alert.events.map((e) => ((e as { missing?: boolean }).missing ? "-" : String((e as { event?: { id?: unknown } }).event?.id)));
}
