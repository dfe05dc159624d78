import type { CompiledQuery, CompiledStage } from "./compile.js";
import { keyTuples, tupleKey, type KeyValue } from "./join-keys.js";
import { compareOrdinals, ordinalReader, type Ordinal, type OrderingOptions } from "./ordering.js";
import { SequenceMachine } from "./sequence-machine.js";
import { scalarCompare, type Event } from "./values.js";

/**
 * The batch evaluator: Elasticsearch EQL semantics over a list of events. It is the reference the
 * streaming detector is tested against.
 */

export interface EvaluateOptions extends OrderingOptions {
  /** Maximum number of results (after `head`/`tail`). Default: no limit. */
  readonly size?: number;
  /** Samples per join-key combination (Elasticsearch's `max_samples_per_key`). Default 1. */
  readonly maxSamplesPerKey?: number;
  /** Event identity for the last tie-break; default `event.id`, else a hash of the event. */
  readonly identity?: (event: Event, index: number) => string;
}

export type EvaluationResult =
  | { readonly kind: "event"; readonly event: Event }
  | { readonly kind: "sequence"; readonly joinKeys: readonly KeyValue[]; readonly events: readonly (Event | null)[] }
  | { readonly kind: "sample"; readonly joinKeys: readonly KeyValue[]; readonly events: readonly Event[] };

export type SkipReason = "missing_timestamp" | "invalid_timestamp" | "too_many_join_keys";

export interface SkippedEvent {
  readonly index: number;
  readonly reason: SkipReason;
}

export interface Evaluation {
  readonly results: EvaluationResult[];
  /** Events that could not take part (no usable timestamp, too many key tuples), with the reason. */
  readonly skipped: SkippedEvent[];
}

export function evaluate(query: CompiledQuery, events: readonly Event[], options: EvaluateOptions = {}): Evaluation {
  switch (query.kind) {
    case "EventQuery":
      return evaluateEvents(query, events, options);
    case "Sequence":
      return evaluateSequence(query, events, options);
    case "Sample":
      return evaluateSample(query, events, options);
  }
}

function applyPipes<T>(query: CompiledQuery, items: T[], size: number | undefined): T[] {
  let out = items;
  for (const p of query.pipes) out = p.name === "head" ? out.slice(0, p.count) : out.slice(Math.max(0, out.length - p.count));
  if (size !== undefined) out = out.slice(0, Math.max(0, size));
  return out;
}

interface Ordered {
  readonly index: number;
  readonly ordinal: Ordinal;
}

function orderEvents(events: readonly Event[], options: EvaluateOptions, skipped: SkippedEvent[], keep: (e: Event, index: number) => boolean): Ordered[] {
  const read = ordinalReader(options);
  const out: Ordered[] = [];
  events.forEach((e, index) => {
    if (!keep(e, index)) return;
    const r = read(e, options.identity?.(e, index));
    if (!r.success) skipped.push({ index, reason: r.reason });
    else out.push({ index, ordinal: r.ordinal });
  });
  return out.sort((a, b) => compareOrdinals(a.ordinal, b.ordinal) || a.index - b.index);
}

function evaluateEvents(query: CompiledQuery, events: readonly Event[], options: EvaluateOptions): Evaluation {
  const skipped: SkippedEvent[] = [];
  const stage = query.stages[0]!;
  const hits = orderEvents(events, options, skipped, (e) => stage.matches(e));
  const results = applyPipes(query, hits, options.size).map((h): EvaluationResult => ({ kind: "event", event: events[h.index]! }));
  return { results, skipped };
}

/** Stages with `with runs=N` expanded into N stages; `until` stays separate. */
function expandStages(query: CompiledQuery): CompiledStage[] {
  return query.stages.flatMap((s) => Array.from({ length: s.runs }, () => s));
}

function evaluateSequence(query: CompiledQuery, events: readonly Event[], options: EvaluateOptions): Evaluation {
  const skipped: SkippedEvent[] = [];
  const expanded = expandStages(query);
  const until = query.until;
  // Which (expanded) stages each event matches, grouped by key tuple.
  const matched = new Map<number, Map<string, { tuple: KeyValue[]; stages: number[]; until: boolean }>>();
  const tooMany = new Set<number>();
  events.forEach((e, index) => {
    let byKey: Map<string, { tuple: KeyValue[]; stages: number[]; until: boolean }> | undefined;
    // `positions` are the expanded stage indexes the stage fills (a stage `with runs=N` is one
    // predicate for N positions); null for `until`.
    const add = (stage: CompiledStage, positions: readonly number[] | null) => {
      if (!stage.matches(e)) return;
      const kt = keyTuples(stage, e);
      if (!kt.success) {
        tooMany.add(index);
        return;
      }
      byKey ??= new Map();
      for (const tuple of kt.tuples) {
        const k = tupleKey(tuple);
        let entry = byKey.get(k);
        if (!entry) byKey.set(k, (entry = { tuple, stages: [], until: false }));
        if (positions === null) entry.until = true;
        else entry.stages.push(...positions);
      }
    };
    let pos = 0;
    for (const s of query.stages) {
      add(s, Array.from({ length: s.runs }, (_, r) => pos + r));
      pos += s.runs;
    }
    if (until) add(until, null);
    if (byKey) matched.set(index, byKey);
  });
  for (const index of tooMany) skipped.push({ index, reason: "too_many_join_keys" });
  const ordered = orderEvents(events, options, skipped, (_, index) => matched.has(index));
  const machine = new SequenceMachine<number>({
    missing: expanded.map((s) => s.missing),
    maxspanNs: query.maxspanMs === null ? null : BigInt(Math.round(query.maxspanMs * 1e6)),
  });
  const tuples = new Map<string, KeyValue[]>();
  for (const { index, ordinal } of ordered) {
    for (const [k, entry] of matched.get(index)!) {
      tuples.set(k, entry.tuple);
      machine.event(k, ordinal, index, entry.stages, entry.until);
    }
  }
  const results = machine.results().map((c): EvaluationResult => ({
    kind: "sequence",
    joinKeys: tuples.get(c.key)!,
    events: c.members.map((m) => (m ? events[m.event]! : null)),
  }));
  return { results: applyPipes(query, results, options.size), skipped };
}

function evaluateSample(query: CompiledQuery, events: readonly Event[], options: EvaluateOptions): Evaluation {
  const skipped: SkippedEvent[] = [];
  const perSample = Math.max(1, options.maxSamplesPerKey ?? 1);
  // Per key tuple, per stage: matching events in input order. Samples need no timestamp.
  const byKey = new Map<string, { tuple: KeyValue[]; stages: number[][] }>();
  events.forEach((e, index) => {
    query.stages.forEach((stage, si) => {
      if (!stage.matches(e)) return;
      const kt = keyTuples(stage, e);
      if (!kt.success) {
        skipped.push({ index, reason: kt.reason });
        return;
      }
      for (const tuple of kt.tuples) {
        const k = tupleKey(tuple);
        let entry = byKey.get(k);
        if (!entry) byKey.set(k, (entry = { tuple, stages: query.stages.map(() => []) }));
        entry.stages[si]!.push(index);
      }
    });
  });
  const keys = [...byKey.values()].sort((a, b) => compareTuples(a.tuple, b.tuple));
  const results: EvaluationResult[] = [];
  // As Elasticsearch: per key, at most (stages x samples) candidates per stage, then the first
  // combinations of distinct events, one per stage, in depth-first order.
  const perStage = query.stages.length * perSample;
  for (const { tuple, stages } of keys) {
    const lists = stages.map((l) => l.slice(0, perStage));
    for (const sample of combinations(lists, perSample)) {
      results.push({ kind: "sample", joinKeys: tuple, events: sample.map((i) => events[i]!) });
    }
  }
  return { results: applyPipes(query, results, options.size), skipped };
}

/** The first `max` combinations picking one distinct item from each list, depth first. */
export function combinations<T>(lists: readonly (readonly T[])[], max: number): T[][] {
  const out: T[][] = [];
  if (lists.some((l) => l.length === 0)) return out;
  const partial: T[] = [];
  const walk = (depth: number): boolean => {
    for (const item of lists[depth]!) {
      if (partial.includes(item)) continue;
      partial.push(item);
      if (depth === lists.length - 1) out.push([...partial]);
      else if (walk(depth + 1)) return true;
      partial.pop();
      if (out.length >= max) return true;
    }
    return false;
  };
  walk(0);
  return out;
}

function compareTuples(a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    const c = scalarCompare(x, y);
    if (c !== 0 && !Number.isNaN(c)) return c;
  }
  return 0;
}
