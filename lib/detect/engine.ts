import {
  brokenByUntil, buildStageIndex, compareOrdinals, DEFAULT_CATEGORY_FIELD, type CompiledStage, type IndexedStage, formatTimestamp, keyTuples, rejectedByMissing, SequenceMachine,
  type Event, type KeyValue, type Member, type Ordinal, type Scalar,
} from "../eql/index.js";
import { fieldGetter } from "../eql/index.js";
import type { AcceptedEvent, Origin } from "../ingest/types.js";
import type { Item, ItemStore, TxOp } from "../store/items.js";
import type { Alert, AlertMember } from "./alert.js";
import {
  alertId as makeAlertId, alertKey, capKey, claimSortKey, partitionKey, rowSortKey, suppressedMarkKey, suppressionKey,
  RETRIAGE_DELAY_MINUTES, retriageKey, sha256, summaryBucketStart, summarySortKey, timeKey, timerKey,
} from "./keys.js";
import { project, toPlain } from "./projection.js";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { DetectionRule } from "./rule.js";
import { eventStreamName } from "./scope.js";
import { suppressionGroup } from "./suppression-config.js";

/**
 * The streaming detector (DESIGN.md "Streaming sequences"). Pure apart from the injected store:
 * time comes in as `nowMs` (the wall clock in Lambda, the highest event time in `triage replay`).
 *
 * Per batch, processed as one unit:
 * 1. each event is tested against each rule in scope; event queries alert directly, sequence and
 *    sample stages give candidate rows per key tuple; until and missing-event stages, which only
 *    ever contribute their position in time, go into one summary item per partition and time
 *    bucket instead of a row each;
 * 2. rows and summaries are deduplicated and written in one batch;
 * 3. per touched partition (rule, key tuple), one consistent query reads the window that can hold
 *    a match with the batch's events;
 * 4. the state machine runs over the rows in time order without the (event, stage) pairs that
 *    earlier alerts claimed, and every completed match with an event of this batch is taken;
 * 5. each new alert is written with a claim per member in one transaction, conditional on none
 *    existing; a cancelled transaction (a concurrent writer claimed a member) re-reads and re-runs;
 * 6. a late until or missing-stage event that invalidates an open alert retracts it;
 * 7. a match whose trailing missing stage is still open waits for a timer (sweepTimers).
 */

export interface EngineOptions {
  /** How long after a row is stored a partner can still find it. Default 15 minutes. */
  readonly allowedLatenessMs: number;
  /** Rows read per partition window; beyond it the window is cut and alerts flagged. */
  readonly partitionWindowCap: number;
  /** How long alerts (and their suppression and cap items) are kept. Default 30 days. */
  readonly alertTtlMs: number;
  /** Re-reads after a claim conflict before the partition is reported failed. */
  readonly maxClaimRetries: number;
  /** Orders events with equal timestamps (Elastic Defend writes event.sequence). */
  readonly tiebreakerField: string;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  allowedLatenessMs: 15 * 60_000,
  partitionWindowCap: 5000,
  alertTtlMs: 30 * 86_400_000,
  maxClaimRetries: 3,
  tiebreakerField: "event.sequence",
};

export interface DetectContext {
  readonly store: ItemStore;
  readonly rules: readonly DetectionRule[];
  readonly options?: Partial<EngineOptions>;
}

export interface DetectStats {
  events: number;
  candidates: number;
  alerts: number;
  suppressed: number;
  capped: number;
  excepted: number;
  late: number;
  retracted: number;
  partitionOverflows: number;
  tooManyJoinKeys: number;
  timers: number;
  /** Partitions (rule, key tuple) the batch touched: each costs one window query. */
  partitions: number;
  /** Until and missing-stage hits folded into summary items (counted in `candidates` as items). */
  summarized: number;
}

export interface PartitionFailure {
  readonly partition: string;
  readonly ruleId: string;
  /** Where the batch events that fed this partition came from (their SQS messages). */
  readonly origins: readonly Origin[];
  readonly error: string;
}

export interface BatchOutcome {
  readonly alerts: Alert[];
  readonly retracted: Alert[];
  readonly failures: PartitionFailure[];
  readonly stats: DetectStats;
}

function emptyStats(): DetectStats {
  return { events: 0, candidates: 0, alerts: 0, suppressed: 0, capped: 0, excepted: 0, late: 0, retracted: 0, partitionOverflows: 0, tooManyJoinKeys: 0, timers: 0, partitions: 0, summarized: 0 };
}

/** What a candidate row keeps of its event. */
interface RowData {
  readonly id: string;
  readonly ts: bigint;
  readonly tb: Scalar | null;
  readonly ev: Record<string, unknown>;
  readonly truncated: readonly string[];
  /** The exception item the full event matched, if any. */
  readonly x: string | null;
}

interface Work {
  readonly rule: DetectionRule;
  readonly pk: string;
  readonly tuple: KeyValue[];
  readonly batchIds: Set<string>;
  readonly origins: Origin[];
  minTs: bigint;
  maxTs: bigint;
  /** The batch added until or missing-stage rows: open alerts may need retracting. */
  lateNegatives: boolean;
}

const NS_PER_MS = 1_000_000n;

export async function detectBatch(ctx: DetectContext, batch: readonly AcceptedEvent[], nowMs: number): Promise<BatchOutcome> {
  const options = { ...DEFAULT_ENGINE_OPTIONS, ...ctx.options };
  const out: BatchOutcome = { alerts: [], retracted: [], failures: [], stats: emptyStats() };
  out.stats.events = batch.length;
  const nowNs = BigInt(Math.floor(nowMs)) * NS_PER_MS;
  const tiebreaker = fieldGetter(options.tiebreakerField.split("."));
  const rows = new Map<string, Item>();
  const summaries: Summaries = new Map();
  const works = new Map<string, Work>();
  const eventAlerts: { rule: DetectionRule; data: RowData; origin: Origin }[] = [];
  const late = new Set<number>();

  const index = stageIndexOf(ctx.rules);
  batch.forEach((accepted, eventIndex) => {
    const { event } = accepted;
    const stream = eventStreamName(event);
    const tbv = tiebreaker(event);
    const tb = boundedValue(tbv === null ? null : typeof tbv === "object" ? (tbv[0] ?? null) : tbv);
    // The index returns exactly the stages the event matches (category and condition); stages
    // compiled with another category field are tested one by one.
    const byRule = new Map<DetectionRule, { si: number; indexed: boolean }[]>();
    const add = (rule: DetectionRule, si: number, indexed: boolean) => {
      const list = byRule.get(rule);
      if (list) list.push({ si, indexed });
      else byRule.set(rule, [{ si, indexed }]);
    };
    for (const c of index.matches(event)) add(c.value.rule, c.value.stage, true);
    for (const { rule, stage } of index.unindexed) add(rule, stage, false);
    for (const [rule, candidateStages] of byRule) {
      if (!rule.inScope(stream)) continue;
      const query = rule.query;
      const data = (): RowData => {
        const p = project(event, rule.fields, rule.projectionBudget);
        return { id: accepted.id, ts: accepted.ts, tb, ev: p.event, truncated: p.truncated, x: rule.exception(event, nowMs) };
      };
      const test = (stage: CompiledStage, indexed: boolean) => indexed || stage.matches(event);
      if (query.kind === "EventQuery") {
        if (test(query.stages[0]!, candidateStages[0]!.indexed)) eventAlerts.push({ rule, data: data(), origin: accepted.origin });
        continue;
      }
      let row: RowData | null = null;
      const stages = query.until ? [...query.stages, query.until] : query.stages;
      for (const { si, indexed } of candidateStages.sort((a, b) => a.si - b.si)) {
        const stage = stages[si]!;
        if (!test(stage, indexed)) continue;
        const kt = keyTuples(stage, event);
        if (!kt.success) {
          out.stats.tooManyJoinKeys++;
          continue;
        }
        if (kt.tuples.length === 0) continue;
        if (accepted.ts < nowNs - rule.windowNs - BigInt(options.allowedLatenessMs) * NS_PER_MS) late.add(eventIndex);
        const isUntil = stage.until;
        const negative = isUntil || stage.missing;
        // A match waiting for a trailing missing stage is decided by a timer after window +
        // lateness: its rows must outlive that by the sweep's delay (an hour of margin).
        const extraMs = rule.trailingMissing ? Number(rule.windowNs / NS_PER_MS) + options.allowedLatenessMs + 3_600_000 : 0;
        const expiresAt = ttlSeconds(accepted.ts > nowNs ? accepted.ts : nowNs, rule.windowNs, options.allowedLatenessMs + extraMs);
        if (!negative) row ??= data();
        for (const fullTuple of kt.tuples) {
          const tuple = fullTuple.map(boundedValue);
          const pk = partitionKey(rule.id, tuple);
          if (negative) {
            addSummaryEntry(summaries, pk, { ts: accepted.ts, tb, id: accepted.id, stage: isUntil ? -1 : si }, expiresAt);
          } else {
            // Every positive hit is stored, broad later stages too: skipping one until an earlier
            // stage is seen needs a read first, and two concurrent invocations could then each
            // miss the other's event (README "Streaming detection": why, and what bounds the cost).
            const sk = rowSortKey(accepted.ts, accepted.id, si);
            rows.set(`${pk}\u0000${sk}`, rowItem(pk, sk, row!, si, expiresAt));
          }
          let w = works.get(pk);
          if (!w) {
            w = { rule, pk, tuple, batchIds: new Set(), origins: [], minTs: accepted.ts, maxTs: accepted.ts, lateNegatives: false };
            works.set(pk, w);
          }
          w.batchIds.add(accepted.id);
          w.origins.push(accepted.origin);
          if (accepted.ts < w.minTs) w.minTs = accepted.ts;
          if (accepted.ts > w.maxTs) w.maxTs = accepted.ts;
          if (isUntil || stage.missing) w.lateNegatives = true;
        }
      }
    }
  });
  out.stats.late = late.size;

  // 2. one batch write of all rows and summaries; a partition whose items did not all land is failed.
  const items = [...rows.values()];
  for (const [pk, buckets] of summaries) {
    for (const [bucket, s] of buckets) {
      const entries = [...s.entries.values()];
      // Bounded ids and tiebreakers keep an entry under about 600 bytes: 500 stay far below 400 KB.
      for (let i = 0; i < entries.length; i += SUMMARY_MAX_ENTRIES) items.push(summaryItem(pk, bucket, entries.slice(i, i + SUMMARY_MAX_ENTRIES), s.expiresAt));
      out.stats.summarized += entries.length;
    }
  }
  out.stats.candidates = items.length;
  const failedPartitions = new Set<string>();
  if (items.length > 0) {
    try {
      const { unprocessed } = await ctx.store.batchPut(items);
      for (const k of unprocessed) failedPartitions.add(k.pk);
    } catch (err) {
      for (const w of works.values()) failedPartitions.add(w.pk);
      for (const w of works.values()) out.failures.push(failure(w, err));
    }
  }
  for (const w of works.values()) {
    if (failedPartitions.has(w.pk) && !out.failures.some((f) => f.partition === w.pk)) {
      out.failures.push(failure(w, new Error("candidate rows could not be written")));
    }
  }

  // 3-7, partition by partition: a failure in one never stops the others.
  out.stats.partitions = works.size;
  for (const w of works.values()) {
    if (failedPartitions.has(w.pk)) continue;
    try {
      await evaluatePartition(ctx, options, w, nowMs, "batch", out);
    } catch (err) {
      out.failures.push(failure(w, err));
    }
  }

  for (const { rule, data, origin } of eventAlerts) {
    const pk = `evt#${rule.id}#${data.id}`;
    try {
      await commitMatch(ctx, options, rule, { pk, tuple: [] }, [{ data, stage: 0 }], nowMs, out);
    } catch (err) {
      out.failures.push({ partition: pk, ruleId: rule.id, origins: [origin], error: errorText(err) });
    }
  }
  return out;
}

/**
 * Evaluates partitions whose timers are due (matches waiting for a trailing missing-event stage
 * to close). Call it every minute (the sweep Lambda) and, in replay, at the end of the input.
 */
export async function sweepTimers(ctx: DetectContext, nowMs: number, fromMinute: number): Promise<BatchOutcome & { readonly nextMinute: number }> {
  const options = { ...DEFAULT_ENGINE_OPTIONS, ...ctx.options };
  const out: BatchOutcome = { alerts: [], retracted: [], failures: [], stats: emptyStats() };
  const rulesById = new Map(ctx.rules.map((r) => [r.id, r]));
  const toMinute = Math.floor(nowMs / 60_000);
  const nowSec = Math.floor(nowMs / 1000);
  let firstFailed: number | null = null;
  for (let minute = fromMinute; minute <= toMinute; minute++) {
    const timers = await ctx.store.query(`timer#${minute}`, {}, { nowSec });
    for (const t of timers) {
      const rule = rulesById.get(String(t.ruleId));
      if (!rule) {
        await ctx.store.delete(t);
        continue;
      }
      const w: Work = { rule, pk: t.sk, tuple: (t.tuple ?? []) as KeyValue[], batchIds: new Set(), origins: [], minTs: 0n, maxTs: 0n, lateNegatives: false };
      try {
        await evaluatePartition(ctx, options, w, nowMs, "sweep", out);
        await ctx.store.delete(t);
      } catch (err) {
        out.failures.push(failure(w, err));
        firstFailed ??= minute;
      }
    }
  }
  // A failed timer stays in place; the next sweep starts from its minute so it is retried.
  return { ...out, nextMinute: firstFailed ?? toMinute + 1 };
}

interface RuleStage {
  readonly rule: DetectionRule;
  /** Index into the rule's stages, the `until` stage last. */
  readonly stage: number;
}

interface RulesIndex {
  /** The indexed stages the event matches, exactly. */
  readonly matches: (event: Event) => IndexedStage<RuleStage>[];
  /** Stages tested one by one: all of a small rule set, and those compiled with another category field (`event_category_override`). */
  readonly unindexed: readonly RuleStage[];
}

const indexes = new WeakMap<readonly DetectionRule[], RulesIndex>();
const SMALL_RULE_SET_STAGES = 8;

/** The stage index of a rule set, built once per set. */
function stageIndexOf(rules: readonly DetectionRule[]): RulesIndex {
  let index = indexes.get(rules);
  if (index) return index;
  const entries: IndexedStage<RuleStage>[] = [];
  const unindexed: RuleStage[] = [];
  for (const rule of rules) {
    const q = rule.query;
    const stages = q.until ? [...q.stages, q.until] : q.stages;
    stages.forEach((stage, i) => {
      if (q.categoryField === DEFAULT_CATEGORY_FIELD) entries.push({ stage, value: { rule, stage: i } });
      else unindexed.push({ rule, stage: i });
    });
  }
  // A handful of stages is tested faster one by one than through an index, whose construction
  // (and first use) costs milliseconds of every cold start.
  if (entries.length <= SMALL_RULE_SET_STAGES) {
    index = { matches: () => [], unindexed: [...entries.map((e) => e.value), ...unindexed] };
  } else {
    const built = buildStageIndex(entries, DEFAULT_CATEGORY_FIELD);
    index = { matches: (e) => built.matches(e), unindexed };
  }
  indexes.set(rules, index);
  return index;
}

/**
 * The tiebreaker goes into every row, summary entry and alert member, and join-key values into
 * alerts (`group.by`) and timers. Elastic Defend writes short values; a string of megabytes would
 * make those items too large to write, failing the batch on every delivery. So a long one keeps a
 * prefix (which decides the order in any realistic case) and a digest of the whole: distinct
 * values stay distinct, and every path (batch, sweep, redelivery) derives the same form.
 */
const MAX_STORED_VALUE_CHARS = 256;

function boundedValue<T extends Scalar | null>(v: T): T | string {
  if (typeof v !== "string" || v.length <= MAX_STORED_VALUE_CHARS) return v;
  return `${v.slice(0, MAX_STORED_VALUE_CHARS - 65)}#${sha256(v)}`;
}

function ttlSeconds(baseNs: bigint, windowNs: bigint, latenessMs: number): number {
  return Number((baseNs + windowNs) / NS_PER_MS / 1000n) + Math.ceil(latenessMs / 1000) + 1;
}

/**
 * The projected event of a row, deflated, as a binary attribute. DynamoDB bills writes per 1 KB
 * and reads per 4 KB of item size; a projection of a typical endpoint event is 1-2 KB of JSON and
 * deflates to about 600 bytes, which brings a row under 1 KB: one write unit instead of two, and
 * fewer read units for every window query (measured in bench/dynamodb.ts).
 */
function packEvent(ev: Record<string, unknown>): Uint8Array {
  return new Uint8Array(deflateRawSync(JSON.stringify(ev)));
}

function unpackEvent(item: Item): Record<string, unknown> {
  if (item.z instanceof Uint8Array) return JSON.parse(inflateRawSync(item.z).toString("utf8")) as Record<string, unknown>;
  return item.ev as Record<string, unknown>;
}

/** A candidate row. Its key tuple is not stored: the partition key stands for it. */
function rowItem(pk: string, sk: string, row: RowData, stage: number, expiresAt: number): Item {
  return {
    ...toPlain({
      pk, sk, kind: "row", stage, id: row.id, ts: row.ts.toString(), tb: row.tb,
      ...(row.truncated.length > 0 ? { cut: row.truncated } : {}), ...(row.x !== null ? { x: row.x } : {}), expiresAt,
    }),
    z: packEvent(row.ev),
  } as Item;
}

/** An until (stage -1) or missing-stage hit: all the state machine needs of it is its ordinal. */
interface SummaryEntry {
  readonly ts: bigint;
  readonly tb: Scalar | null;
  readonly id: string;
  readonly stage: number;
}

const SUMMARY_MAX_ENTRIES = 500;

/** partition → bucket start → the batch's entries (keyed by id and stage) and their TTL. */
type Summaries = Map<string, Map<bigint, { entries: Map<string, SummaryEntry>; expiresAt: number }>>;

function addSummaryEntry(summaries: Summaries, pk: string, entry: SummaryEntry, expiresAt: number): void {
  let buckets = summaries.get(pk);
  if (!buckets) summaries.set(pk, (buckets = new Map()));
  const bucket = summaryBucketStart(entry.ts);
  let s = buckets.get(bucket);
  if (!s) buckets.set(bucket, (s = { entries: new Map(), expiresAt }));
  s.entries.set(`${entry.id}\u0000${entry.stage}`, entry);
  if (expiresAt > s.expiresAt) s.expiresAt = expiresAt;
}

/**
 * One batch's until and missing-stage hits of one partition and time bucket, as one item
 * (DESIGN.md "DynamoDB": summaries, not rows). It is written in the batch's BatchWriteItem with the
 * rows, so it costs no request of its own, and its entries are a few dozen bytes each where a row
 * is a write unit. The sort key names the bucket and a digest of the entries: a redelivered batch
 * rewrites the same item, and a differently composed redelivery adds an item whose entries merge
 * with the first on reading (an entry is an (event, stage) pair, so repeats are harmless).
 * Entries keep the full id and nanosecond time: the state machine orders them exactly.
 */
function summaryItem(pk: string, bucket: bigint, entries: readonly SummaryEntry[], expiresAt: number): Item {
  const ordinal = (e: SummaryEntry) => ({ ts: e.ts, tiebreaker: e.tb, id: e.id });
  const plain = [...entries]
    .sort((a, b) => compareOrdinals(ordinal(a), ordinal(b)) || a.stage - b.stage)
    .map((e) => [e.ts.toString(), e.tb, e.id, e.stage] as const);
  const json = JSON.stringify(plain);
  return { pk, sk: summarySortKey(bucket, json), kind: "sum", n: plain.length, expiresAt, z: new Uint8Array(deflateRawSync(json)) };
}

function unpackSummary(item: Item): SummaryEntry[] {
  if (!(item.z instanceof Uint8Array)) return [];
  const plain = JSON.parse(inflateRawSync(item.z).toString("utf8")) as [string, Scalar | null, string, number][];
  return plain.map(([ts, tb, id, stage]) => ({ ts: BigInt(ts), tb, id, stage }));
}

function failure(w: Work, err: unknown): PartitionFailure {
  return { partition: w.pk, ruleId: w.rule.id, origins: w.origins, error: errorText(err) };
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

interface StoredEvent {
  readonly data: RowData;
  readonly ordinal: Ordinal;
  /** Original stage indexes this event matched (under this partition's key), -1 for until. */
  readonly stages: Set<number>;
}

async function evaluatePartition(
  ctx: DetectContext, options: EngineOptions, w: Work, nowMs: number, mode: "batch" | "sweep", out: BatchOutcome,
): Promise<void> {
  const { rule } = w;
  const nowSec = Math.floor(nowMs / 1000);
  const nowNs = BigInt(Math.floor(nowMs)) * NS_PER_MS;
  // A summary item is keyed by the start of its time bucket, so the range starts at a bucket start.
  const range = mode === "batch"
    ? { from: timeKey(summaryBucketStart(w.minTs - rule.windowNs)), to: timeKey(w.maxTs + rule.windowNs) + "~" }
    : {};
  for (let attempt = 0; ; attempt++) {
    const items = await ctx.store.query(w.pk, range, { nowSec, limit: options.partitionWindowCap + 1 });
    let overflow = items.length > options.partitionWindowCap;
    if (overflow) items.length = options.partitionWindowCap;
    const { events, claimed, claimAlerts } = readPartition(items);
    // A summary item holds up to 500 hits: the cap bounds the events the machine replays too.
    if (events.length > options.partitionWindowCap) {
      overflow = true;
      events.length = options.partitionWindowCap;
    }
    if (overflow) out.stats.partitionOverflows++;
    const matches = rule.query.kind === "Sample"
      ? sampleMatches(rule, events, claimed, (m) => mode === "sweep" || m.some((d) => w.batchIds.has(d.id)))
      : sequenceMatches(rule, events, claimed);
    let conflict = false;
    const decidedBy = (start: bigint) => start + rule.windowNs + BigInt(options.allowedLatenessMs) * NS_PER_MS;
    for (const m of matches) {
      const ids = m.filter((x): x is { data: RowData; stage: number } => x !== null).map((x) => x.data.id);
      if (mode === "batch" && !ids.some((id) => w.batchIds.has(id))) continue;
      if (rule.trailingMissing) {
        const start = m.find((x) => x !== null)!.data.ts;
        const due = decidedBy(start);
        if (due > nowNs) {
          await ctx.store.batchPut([{ ...timerKey(Math.ceil(Number(due / NS_PER_MS) / 60_000), w.pk), ruleId: rule.id, tuple: w.tuple, expiresAt: Number(due / NS_PER_MS / 1000n) + 86_400 }]);
          out.stats.timers++;
          continue;
        }
      }
      const result = await commitMatch(ctx, options, rule, { pk: w.pk, tuple: w.tuple, overflow }, m, nowMs, out);
      if (result === "conflict") conflict = true;
    }
    if (!conflict) {
      if (w.lateNegatives) await retractInvalidated(ctx, rule, events, claimAlerts, nowMs, out);
      return;
    }
    if (attempt >= options.maxClaimRetries) throw new Error(`claims kept conflicting after ${attempt + 1} attempts`);
  }
}

/** (event id, expanded stage) → the alert that claimed the pair. */
type Claims = Map<string, string>;

function readPartition(items: readonly Item[]): { events: StoredEvent[]; claimed: Claims; claimAlerts: Set<string> } {
  const byId = new Map<string, StoredEvent>();
  const claimed: Claims = new Map();
  const claimAlerts = new Set<string>();
  const summarized: SummaryEntry[] = [];
  for (const item of items) {
    if (item.kind === "claim") {
      claimed.set(`${String(item.id)}#${String(item.stage)}`, String(item.alertId));
      claimAlerts.add(String(item.alertId));
      continue;
    }
    if (item.kind === "sum") {
      summarized.push(...unpackSummary(item));
      continue;
    }
    if (item.kind !== "row") continue;
    const id = String(item.id);
    let e = byId.get(id);
    if (!e) {
      const data: RowData = {
        id, ts: BigInt(String(item.ts)), tb: (item.tb ?? null) as Scalar | null, ev: unpackEvent(item),
        truncated: (item.cut ?? []) as string[], x: typeof item.x === "string" ? item.x : null,
      };
      e = { data, ordinal: { ts: data.ts, tiebreaker: data.tb, id }, stages: new Set() };
      byId.set(id, e);
    }
    e.stages.add(Number(item.stage));
  }
  // Until and missing-stage hits only ever contribute their ordinal: an event known only from a
  // summary gets no projection, and never becomes a present member of an alert.
  for (const entry of summarized) {
    let e = byId.get(entry.id);
    if (!e) {
      const data: RowData = { id: entry.id, ts: entry.ts, tb: entry.tb, ev: {}, truncated: [], x: null };
      e = { data, ordinal: { ts: entry.ts, tiebreaker: entry.tb, id: entry.id }, stages: new Set() };
      byId.set(entry.id, e);
    }
    e.stages.add(entry.stage);
  }
  const events = [...byId.values()].sort((a, b) => compareOrdinals(a.ordinal, b.ordinal));
  return { events, claimed, claimAlerts };
}

type MatchMember = { readonly data: RowData; readonly stage: number } | null;

/**
 * Completed sequences over the window. The state machine runs over every row, claimed or not, so
 * that it replays the reference's history exactly (a claimed event still consumes and replaces
 * pending sequences as it did when it was first seen); a match that would reuse an (event, stage)
 * pair another alert claimed is then dropped. Re-derived matches of existing alerts come out
 * again and collapse on their deterministic id.
 */
function sequenceMatches(rule: DetectionRule, events: readonly StoredEvent[], claimed: Claims): MatchMember[][] {
  const machine = new SequenceMachine<RowData>(rule.spec);
  for (const e of events) {
    const expanded: number[] = [];
    for (const s of e.stages) {
      if (s < 0) continue;
      const stage = rule.query.stages[s]!;
      for (let r = 0; r < (rule.query.kind === "Sequence" ? stage.runs : 1); r++) expanded.push(rule.offsets[s]! + r);
    }
    machine.event("k", e.ordinal, e.data, expanded, e.stages.has(-1));
  }
  const matches = machine.results().map((c) => c.members.map((m, i) => (m ? { data: m.event, stage: i } : null)));
  return matches.filter((m) => {
    const owners = new Set(m.flatMap((x) => (x ? [claimed.get(`${x.data.id}#${x.stage}`)] : [])));
    owners.delete(undefined);
    // Free, or entirely one alert's own pairs (the same match again: a duplicate, harmless).
    return owners.size === 0 || (owners.size === 1 && m.every((x) => x === null || claimed.has(`${x.data.id}#${x.stage}`)));
  });
}

/**
 * Samples over the window: per stage the unclaimed events; the first combination of distinct
 * events, one per stage, whose events lie within the rule's look-back of each other (a stream has
 * no search window: the `from` look-back stands in for it) and that satisfies `wanted` (in a batch:
 * contains one of its events).
 */
const SAMPLE_SEARCH_BUDGET = 100_000;

function sampleMatches(rule: DetectionRule, events: readonly StoredEvent[], claimed: Claims, wanted: (m: RowData[]) => boolean): MatchMember[][] {
  const lists = rule.query.stages.map((_, s) => events.filter((e) => e.stages.has(s) && !claimed.has(`${e.data.id}#${s}`)).map((e) => e.data));
  const partial: RowData[] = [];
  // The search is bounded: a flood of events in one partition must not make it explode.
  let budget = SAMPLE_SEARCH_BUDGET;
  const walk = (depth: number, lo: bigint, hi: bigint): RowData[] | null => {
    if (depth === lists.length) return wanted(partial) ? [...partial] : null;
    for (const d of lists[depth]!) {
      if (--budget < 0) return null;
      if (partial.includes(d)) continue;
      const nlo = d.ts < lo ? d.ts : lo;
      const nhi = d.ts > hi ? d.ts : hi;
      if (nhi - nlo > rule.windowNs) continue;
      partial.push(d);
      const found = walk(depth + 1, nlo, nhi);
      partial.pop();
      if (found) return found;
    }
    return null;
  };
  const first = lists.every((l) => l.length > 0) ? walk(0, BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n, -1n) : null;
  return first ? [first.map((data, stage) => ({ data, stage }))] : [];
}

type CommitResult = "raised" | "duplicate" | "suppressed" | "capped" | "excepted" | "conflict";

async function commitMatch(
  ctx: DetectContext, options: EngineOptions, rule: DetectionRule, where: { pk: string; tuple: KeyValue[]; overflow?: boolean },
  members: readonly MatchMember[], nowMs: number, out: BatchOutcome,
): Promise<CommitResult> {
  const present = members.filter((m): m is { data: RowData; stage: number } => m !== null);
  const id = makeAlertId(rule.id, where.tuple, members.map((m) => (m ? `${m.data.id}@${m.stage}` : null)));
  if (present.some((m) => m.data.x !== null)) {
    if (await markOnce(ctx, id, "excepted", nowMs, options)) out.stats.excepted++;
    return "excepted";
  }
  const firstNs = present.reduce((a, m) => (m.data.ts < a ? m.data.ts : a), present[0]!.data.ts);
  const lastNs = present.reduce((a, m) => (m.data.ts > a ? m.data.ts : a), present[0]!.data.ts);
  const firstMs = Number(firstNs / NS_PER_MS);
  const truncated = [...new Set(present.flatMap((m) => m.data.truncated))];
  const flags = [...(truncated.length > 0 ? [`truncated_fields:${truncated.join(",")}`] : []), ...(where.overflow ? ["partition_overflow"] : [])];
  const alert: Alert = {
    id,
    "@timestamp": new Date(nowMs).toISOString(),
    status: "open",
    rule: { id: rule.id, name: rule.name, severity: rule.severity, risk_score: rule.riskScore, threat: rule.threat, building_block: rule.buildingBlock },
    group: { by: where.tuple },
    events: members.map((m) => (m ? m.data.ev : { missing: true })),
    first_seen: formatTimestamp(firstNs),
    last_seen: formatTimestamp(lastNs),
    suppressed_count: 0,
    ...(flags.length > 0 ? { flags } : {}),
  };
  const alertMembers: (AlertMember | null)[] = members.map((m) => (m ? { id: m.data.id, ts: m.data.ts.toString(), tb: m.data.tb, stage: m.stage } : null));
  const expiresAt = Math.floor((nowMs + options.alertTtlMs) / 1000);
  const claims: TxOp[] = rule.query.kind === "EventQuery" ? [] : present.map((m) => ({
    kind: "put" as const,
    item: { pk: where.pk, sk: claimSortKey(m.data.ts, m.data.id, m.stage), kind: "claim", id: m.data.id, stage: m.stage, alertId: id, expiresAt },
    condition: { op: "not_exists" as const },
  }));

  // Suppression: an active suppression window for the alert's group turns the match into a
  // count on the surviving alert (once per match, however often it is redelivered).
  const group = rule.suppression ? suppressionGroup(rule.suppression, present.map((m) => m.data.ev)) : null;
  const suppKey = group !== null ? suppressionKey(rule.id, group.key) : null;
  if (suppKey) {
    const supp = await ctx.store.get(suppKey, { nowSec: Math.floor(nowMs / 1000) });
    if (supp && supp.alertId !== id && typeof supp.windowEnd === "number" && supp.windowEnd > firstMs) {
      const survivor = String(supp.alertId);
      const r = await ctx.store.transact([
        { kind: "put", item: { ...suppressedMarkKey(survivor, id), expiresAt }, condition: { op: "not_exists" } },
        { kind: "update", key: alertKey(survivor), update: { add: { suppressed_count: 1 } }, condition: { op: "exists" } },
        ...claims,
      ]);
      if (r.ok) {
        out.stats.suppressed++;
        return "suppressed";
      }
      if (r.failed.includes(0)) return "duplicate";
      return "conflict";
    }
  }
  const ops: TxOp[] = [
    { kind: "put", item: toPlain({ ...alertKey(id), kind: "alert", alert, members: alertMembers, ruleId: rule.id, status: "open", pendingTriage: 1, expiresAt }) as unknown as Item, condition: { op: "not_exists" } },
    ...claims,
  ];
  const capIndex = ops.length;
  const interval = Math.floor(nowMs / rule.intervalMs) * rule.intervalMs;
  ops.push({ kind: "update", key: capKey(rule.id, interval), update: { add: { count: 1 }, set: { expiresAt: Math.floor((interval + rule.intervalMs) / 1000) + 86_400 } }, condition: { op: "less_than", attr: "count", value: rule.maxSignals } });
  const suppIndex = ops.length;
  if (suppKey && rule.suppression) {
    ops.push({
      kind: "put",
      item: { ...suppKey, alertId: id, windowEnd: firstMs + rule.suppression.windowMs, expiresAt: Math.floor((firstMs + rule.suppression.windowMs) / 1000) + 86_400 },
      condition: { op: "or", conditions: [{ op: "not_exists" }, { op: "less_than", attr: "windowEnd", value: firstMs + 1 }, { op: "equals", attr: "alertId", value: id }] },
    });
  }
  ops.push({ kind: "put", item: retriageItem(nowMs, id, expiresAt) });
  const r = await ctx.store.transact(ops);
  if (r.ok) {
    out.alerts.push(alert);
    out.stats.alerts++;
    return "raised";
  }
  if (r.failed.includes(0)) return "duplicate";
  if (r.failed.some((i) => i > 0 && i < capIndex) || r.failed.includes(suppIndex)) return "conflict";
  if (await markOnce(ctx, id, "capped", nowMs, options)) out.stats.capped++;
  return "capped";
}

function retriageItem(nowMs: number, alertId: string, expiresAt: number): Item {
  return { ...retriageKey(Math.floor(nowMs / 60_000) + RETRIAGE_DELAY_MINUTES, alertId), expiresAt };
}

/**
 * Records that a match was excepted or capped, so that a redelivered duplicate is not counted
 * again. True the first time.
 */
async function markOnce(ctx: DetectContext, alertId: string, outcome: "excepted" | "capped", nowMs: number, options: EngineOptions): Promise<boolean> {
  const r = await ctx.store.transact([{
    kind: "put",
    item: { pk: `mark#${alertId}`, sk: outcome, expiresAt: Math.floor((nowMs + options.alertTtlMs) / 1000) },
    condition: { op: "not_exists" },
  }]);
  return r.ok;
}

/** Re-checks the open alerts of a partition against until and missing-stage events in the window. */
async function retractInvalidated(
  ctx: DetectContext, rule: DetectionRule, events: readonly StoredEvent[], alertIds: ReadonlySet<string>, nowMs: number, out: BatchOutcome,
): Promise<void> {
  const nowSec = Math.floor(nowMs / 1000);
  const untils = events.filter((e) => e.stages.has(-1)).map((e) => e.ordinal);
  const missingHits = (expandedStage: number): Member<null>[] => {
    const original = rule.offsets.findLastIndex((o) => o <= expandedStage);
    return events.filter((e) => e.stages.has(original)).map((e) => ({ ordinal: e.ordinal, event: null }));
  };
  for (const id of alertIds) {
    const item = await ctx.store.get(alertKey(id), { nowSec });
    if (!item || item.status !== "open") continue;
    const members = (item.members as (AlertMember | null)[]).map((m) =>
      m ? { ordinal: { ts: BigInt(m.ts), tiebreaker: m.tb, id: m.id }, event: null } : null,
    );
    const invalid = brokenByUntil(members, untils) || (rule.spec.missing.some((x) => x) && rejectedByMissing(rule.spec, members, missingHits));
    if (!invalid) continue;
    const r = await ctx.store.update(alertKey(id), { set: { status: "retracted", retractedAt: new Date(nowMs).toISOString() } }, { op: "equals", attr: "status", value: "open" });
    if (r.ok) {
      const alert = { ...(item.alert as unknown as Alert), status: "retracted" as const };
      out.retracted.push(alert);
      out.stats.retracted++;
      // After the status change, so a failure here loses only the safety net, never the retraction.
      await ctx.store.batchPut([retriageItem(nowMs, id, typeof item.expiresAt === "number" ? item.expiresAt : Math.floor(nowMs / 1000) + 86_400)]);
    }
  }
}
