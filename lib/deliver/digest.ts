/**
 * Alert storms: beyond `limit` Slack cards per rule per window (a minute by default), alerts are
 * counted into one digest message for the window ("N more alerts of rule X") instead of a card
 * each, so a storm costs one message per minute instead of hours of 429s. Tickets are not
 * affected: every alert still gets its ticket.
 *
 * State, all over the ItemStore port (so both adapters and the contract suite cover it):
 *
 * | item | pk | sk |
 * |---|---|---|
 * | window counter | `rate#<ruleId>` | `window#<n>` (n = floor(now / windowMs)) |
 * | window digest  | `rate#<ruleId>` | `digest#<n>` |
 * | an alert's decision | `alert#<alertId>` | `rate#slack` |
 *
 * `admitAlert` (once per alert, before posting its card):
 * 1. A redelivered alert finds its decision item and gets the same decision again.
 * 2. Otherwise the window counter is incremented atomically (`add`); the new count is the alert's
 *    ordinal in the window. Ordinal <= limit: a card.
 * 3. Beyond the limit, one transaction writes the decision item (condition: none yet) and counts
 *    the alert into the window's digest (condition: the digest is still collecting). The first
 *    transaction to create the digest names its alert `flushOwner`.
 * 4. The flush owner gets `flush` back: the caller schedules the digest's posting after the window
 *    closes (e.g. a message on the Slack queue with `DelaySeconds = flushDelaySeconds(...)`; a
 *    minute is far below SQS's 15-minute delay limit). A retry of the owner gets `flush` again; the
 *    posting itself is idempotent (`claimDigestFlush` takes a lease, `markDigestPosted` ends it),
 *    so scheduling twice is harmless and scheduling once is enough.
 * 5. An alert whose window's digest is already being posted (a straggler deciding after the window
 *    closed) gets a card: nothing is ever counted into a digest that has gone out.
 *
 * Crashes: a crash between the counter and the transaction counts an alert twice in the counter
 * (at most one card fewer in that window); the decision and the digest count are written together,
 * so the digest count is exact.
 */
import { z } from "zod";
import { leaseClaimCondition } from "../store/delivery-marks.js";
import type { AttrValue, Item, ItemKey, ItemStore } from "../store/items.js";

export interface DigestConfig {
  /** Cards per rule per window; beyond it alerts go into the window's digest. */
  readonly limit: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** Hosts and alert ids kept as samples in a digest. @default 5 */
  readonly sampleSize?: number;
  /** Posting waits this long after the window closes, for decisions still in flight. @default 5_000 */
  readonly graceMs?: number;
  /** Counters and digests are kept this long after their window, seconds. @default 86_400 */
  readonly retentionSec?: number;
}

/** What `admitAlert` needs to know of an alert. */
export interface AdmitInput {
  readonly alertId: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly severity: string;
  /** The host shown as a sample in the digest, if any. */
  readonly host: string | null;
}

export interface DigestRef {
  readonly ruleId: string;
  /** Window number: floor(ms / windowMs). */
  readonly window: number;
}

export interface DigestFlush extends DigestRef {
  /** When to post the digest (the window's end plus the grace period), epoch ms. */
  readonly dueAtMs: number;
}

export type AdmitDecision =
  | { readonly kind: "card" }
  /** Counted into a digest; `flush` is set for the one alert that must schedule its posting. */
  | { readonly kind: "digest"; readonly digest: DigestRef; readonly flush: DigestFlush | null };

export interface DigestSummary extends DigestRef {
  readonly ruleName: string;
  readonly severity: string;
  readonly count: number;
  readonly limit: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly sampleHosts: readonly string[];
  readonly sampleAlertIds: readonly string[];
}

const DEFAULTS = { windowMs: 60_000, sampleSize: 5, graceMs: 5_000, retentionSec: 86_400 } as const;

type Resolved = Required<DigestConfig>;

function resolve(config: DigestConfig): Resolved {
  const c = { ...DEFAULTS, ...config };
  if (!Number.isInteger(c.limit) || c.limit < 0) throw new RangeError(`digest limit must be a whole number >= 0, got ${c.limit}`);
  if (!Number.isInteger(c.windowMs) || c.windowMs < 1_000) throw new RangeError(`digest windowMs must be a whole number >= 1000, got ${c.windowMs}`);
  return c;
}

/** Parses SLACK_DIGEST_THRESHOLD (cards per rule per minute); unset = `fallback`. */
export function digestLimitFromEnv(value: string | undefined, fallback = 20): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`SLACK_DIGEST_THRESHOLD must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

export function counterKey(ruleId: string, window: number): ItemKey {
  return { pk: `rate#${ruleId}`, sk: `window#${window}` };
}

export function digestKey(ref: DigestRef): ItemKey {
  return { pk: `rate#${ref.ruleId}`, sk: `digest#${ref.window}` };
}

export function decisionKey(alertId: string): ItemKey {
  return { pk: `alert#${alertId}`, sk: "rate#slack" };
}

/** Decides whether an alert gets its own card or goes into its window's digest. Idempotent per alert. */
export async function admitAlert(store: ItemStore, input: AdmitInput, nowMs: number, config: DigestConfig): Promise<AdmitDecision> {
  const c = resolve(config);
  const nowSec = Math.floor(nowMs / 1000);
  const known = await store.get(decisionKey(input.alertId), { nowSec });
  if (known) return replay(store, input, known, c, nowSec);

  const window = Math.floor(nowMs / c.windowMs);
  const expiresAt = Math.ceil(((window + 1) * c.windowMs) / 1000) + c.retentionSec;
  const counted = await store.update(counterKey(input.ruleId, window), { add: { count: 1 }, setIfMissing: { kind: "rate", expiresAt } });
  const ordinal = counted.ok && typeof counted.item.count === "number" ? counted.item.count : 1;

  if (ordinal <= c.limit) return decide(store, input, { decision: "card", window, ordinal }, expiresAt, nowSec, c);

  const ref: DigestRef = { ruleId: input.ruleId, window };
  const sample = ordinal - c.limit <= c.sampleSize;
  const addToSet: Record<string, string[]> = {};
  if (sample) {
    addToSet.sampleAlertIds = [input.alertId];
    if (input.host) addToSet.sampleHosts = [input.host];
  }
  const setIfMissing: Record<string, AttrValue> = {
    kind: "digest", state: "collecting", ruleId: input.ruleId, ruleName: input.ruleName, severity: input.severity,
    window, windowStartMs: window * c.windowMs, windowEndMs: (window + 1) * c.windowMs, limit: c.limit,
    flushOwner: input.alertId, expiresAt,
  };
  const tx = await store.transact([
    { kind: "put", item: { ...decisionKey(input.alertId), kind: "rate-decision", decision: "digest", ruleId: input.ruleId, window, ordinal, expiresAt }, condition: { op: "not_exists" } },
    {
      kind: "update", key: digestKey(ref), update: { add: { count: 1 }, setIfMissing, ...(sample ? { addToSet } : {}) },
      condition: { op: "or", conditions: [{ op: "not_exists" }, { op: "equals", attr: "state", value: "collecting" }] },
    },
  ]);
  if (tx.ok) return digestDecision(store, input, ref, c, nowSec);
  if (tx.failed.includes(0)) {
    // A concurrent delivery of the same alert decided first: its decision stands.
    const first = await store.get(decisionKey(input.alertId), { nowSec });
    if (first) return replay(store, input, first, c, nowSec);
  }
  // The window's digest is already going out: this straggler gets a card of its own.
  return decide(store, input, { decision: "card", window, ordinal }, expiresAt, nowSec, c);
}

async function decide(
  store: ItemStore, input: AdmitInput, d: { decision: "card"; window: number; ordinal: number }, expiresAt: number, nowSec: number, c: Resolved,
): Promise<AdmitDecision> {
  const r = await store.transact([{
    kind: "put", item: { ...decisionKey(input.alertId), kind: "rate-decision", ...d, ruleId: input.ruleId, expiresAt }, condition: { op: "not_exists" },
  }]);
  if (r.ok) return { kind: "card" };
  const first = await store.get(decisionKey(input.alertId), { nowSec });
  return first ? replay(store, input, first, c, nowSec) : { kind: "card" };
}

async function replay(store: ItemStore, input: AdmitInput, item: Item, c: Resolved, nowSec: number): Promise<AdmitDecision> {
  if (item.decision !== "digest" || typeof item.window !== "number") return { kind: "card" };
  return digestDecision(store, input, { ruleId: input.ruleId, window: item.window }, c, nowSec);
}

async function digestDecision(store: ItemStore, input: AdmitInput, ref: DigestRef, c: Resolved, nowSec: number): Promise<AdmitDecision> {
  const digest = await store.get(digestKey(ref), { nowSec });
  const owner = digest?.flushOwner === input.alertId && digest.state !== "done";
  const dueAtMs = (ref.window + 1) * c.windowMs + c.graceMs;
  return { kind: "digest", digest: ref, flush: owner ? { ...ref, dueAtMs } : null };
}

/** `DelaySeconds` for the message that triggers the flush (SQS allows 0..900). */
export function flushDelaySeconds(flush: DigestFlush, nowMs: number): number {
  return Math.max(0, Math.min(900, Math.ceil((flush.dueAtMs - nowMs) / 1000)));
}

export type DigestClaim =
  | { readonly kind: "claimed"; readonly summary: DigestSummary }
  /** Already posted. */
  | { readonly kind: "done" }
  /** Being posted by another deliverer, or the window has not closed yet: try again later. */
  | { readonly kind: "retry"; readonly retryAfterMs: number }
  /** No such digest (nothing was ever counted into it, or it expired). */
  | { readonly kind: "missing" };

/**
 * Takes the lease to post a window's digest. From this moment the digest is closed: alerts that
 * decide later get cards. A digest is claimable once its window has ended.
 */
export async function claimDigestFlush(store: ItemStore, ref: DigestRef, owner: string, nowMs: number, leaseMs: number): Promise<DigestClaim> {
  const key = digestKey(ref);
  const nowSec = Math.floor(nowMs / 1000);
  const current = await store.get(key, { nowSec });
  if (!current) return { kind: "missing" };
  if (current.state === "done") return { kind: "done" };
  const windowEndMs = typeof current.windowEndMs === "number" ? current.windowEndMs : 0;
  if (nowMs < windowEndMs) return { kind: "retry", retryAfterMs: windowEndMs - nowMs };
  const r = await store.update(
    key,
    { set: { state: "leased", owner, leaseUntilMs: nowMs + leaseMs }, add: { attempts: 1 } },
    { op: "and", conditions: [{ op: "exists" }, leaseClaimCondition(owner, nowMs, { allowMissing: false, freeStates: ["collecting"] })] },
  );
  if (r.ok) return { kind: "claimed", summary: toSummary(r.item) };
  const again = await store.get(key, { nowSec });
  if (!again) return { kind: "missing" };
  if (again.state === "done") return { kind: "done" };
  const until = typeof again.leaseUntilMs === "number" ? again.leaseUntilMs : nowMs;
  return { kind: "retry", retryAfterMs: Math.max(1, until - nowMs) };
}

/** Marks a digest posted (false when `owner` lost its lease meanwhile). */
export async function markDigestPosted(store: ItemStore, ref: DigestRef, owner: string, nowMs: number, receipt: { readonly ts?: string } = {}): Promise<boolean> {
  const r = await store.update(
    digestKey(ref),
    { set: { state: "done", doneAtMs: nowMs, ...(receipt.ts !== undefined ? { ts: receipt.ts } : {}) } },
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "equals", attr: "owner", value: owner }] },
  );
  return r.ok;
}

/** Gives the lease back after a failed post, so that the retry need not wait for it to expire. */
export async function releaseDigestLease(store: ItemStore, ref: DigestRef, owner: string): Promise<boolean> {
  const r = await store.update(
    digestKey(ref),
    { set: { leaseUntilMs: 0 } },
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "equals", attr: "owner", value: owner }] },
  );
  return r.ok;
}

function toSummary(item: Item): DigestSummary {
  const num = (v: unknown): number => (typeof v === "number" ? v : 0);
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return {
    ruleId: text(item.ruleId),
    window: num(item.window),
    ruleName: text(item.ruleName),
    severity: text(item.severity),
    count: num(item.count),
    limit: num(item.limit),
    windowStartMs: num(item.windowStartMs),
    windowEndMs: num(item.windowEndMs),
    sampleHosts: list(item.sampleHosts),
    sampleAlertIds: list(item.sampleAlertIds),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages on the Slack delivery queue

/**
 * What the Slack delivery queue carries: an alert to deliver (its card, or its retraction
 * follow-up), or a digest to post once its window has closed. Ids only: the deliverer reads the
 * stored triage result, so a message stays tiny and a redelivery renders the same card.
 */
export const SlackJobSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("alert"), alertId: z.string().min(1), phase: z.enum(["open", "retracted"]) }).strict(),
  z.object({ type: z.literal("digest"), ruleId: z.string().min(1), window: z.number().int().nonnegative() }).strict(),
]);

export type SlackJob = z.infer<typeof SlackJobSchema>;
