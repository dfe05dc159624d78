import { claimLease, getDeliveryMark, markDone, releaseLease, type DeliveryKey } from "../store/delivery-marks.js";
import type { ItemStore } from "../store/items.js";
import { getStoredTriageResult } from "../store/triage-results.js";
import { hostOf } from "./event-fields.js";
import {
  admitAlert, claimDigestFlush, markDigestPosted, releaseDigestLease, flushDelaySeconds, type DigestConfig, type SlackJob,
} from "./digest.js";
import { buildDigestMessage, buildGuideReplies, buildRetractionMessage, buildSlackCard, retractionPlan } from "./slack-card.js";
import { postSlackMessage, type PostResult, type SlackTarget } from "./slack-client.js";

/**
 * One job of the Slack delivery queue, start to finish: the alert's card (or its place in a
 * digest during an alert storm), the bot-mode thread with the full guide, a retraction follow-up,
 * or a digest. The lease on the delivery mark makes a redelivered job post nothing twice (a crash
 * between Slack's 200 and the done mark can repeat one card: at-least-once, documented).
 *
 * The outcome tells the handler what to do with the SQS message: delete it (`done`), or leave it
 * for a retry after `retryAfterSeconds` (rate limits, a lease held elsewhere, a digest whose window
 * is still open, a retryable Slack failure); a permanent Slack error goes to the DLQ by retries.
 */

export interface SlackDeliveryDeps {
  readonly store: ItemStore;
  readonly target: SlackTarget;
  readonly digest: DigestConfig;
  /** Schedules a digest job (SQS DelaySeconds), for the alert that opened the digest. */
  readonly scheduleDigest: (job: SlackJob, delaySeconds: number) => Promise<void>;
  /** @default 60_000 */
  readonly leaseMs?: number;
  /** Per Slack request. @default 10_000 */
  readonly timeoutMs?: number;
}

export type SlackDeliveryOutcome =
  | { readonly kind: "done"; readonly detail: string }
  | { readonly kind: "retry"; readonly retryAfterSeconds: number; readonly detail: string }
  | { readonly kind: "failed"; readonly error: string };

export async function deliverSlackJob(job: SlackJob, deps: SlackDeliveryDeps, owner: string, nowMs: number): Promise<SlackDeliveryOutcome> {
  switch (job.type) {
    case "alert":
      return job.phase === "open" ? deliverCard(job.alertId, deps, owner, nowMs) : deliverRetraction(job.alertId, deps, owner, nowMs);
    case "digest":
      return deliverDigest(job, deps, owner, nowMs);
    default: {
      const never: never = job;
      return { kind: "failed", error: `unknown job ${JSON.stringify(never)}` };
    }
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

async function deliverCard(alertId: string, deps: SlackDeliveryDeps, owner: string, nowMs: number): Promise<SlackDeliveryOutcome> {
  const stored = await getStoredTriageResult(deps.store, alertId, Math.floor(nowMs / 1000));
  if (!stored) return { kind: "done", detail: "no triage result (alert expired)" };
  const { result } = stored;
  const key: DeliveryKey = { alertId, output: "slack", phase: "open" };
  const mark = stored.expiresAt !== null ? { expiresAt: stored.expiresAt } : {};
  const claim = await claimLease(deps.store, key, owner, nowMs, deps.leaseMs ?? 60_000, mark);
  if (claim.kind === "done") return { kind: "done", detail: "already delivered" };
  if (claim.kind === "held") return { kind: "retry", retryAfterSeconds: seconds(claim.retryAfterMs), detail: "lease held by another deliverer" };

  const admit = await admitAlert(deps.store, {
    alertId, ruleId: result.alert.rule.id, ruleName: result.alert.rule.name, severity: result.alert.rule.severity,
    host: result.alert.events.map(hostOf).find((h): h is string => typeof h === "string") ?? null,
  }, nowMs, deps.digest);
  if (admit.kind === "digest") {
    if (admit.flush) await deps.scheduleDigest({ type: "digest", ruleId: admit.flush.ruleId, window: admit.flush.window }, flushDelaySeconds(admit.flush, nowMs));
    await markDone(deps.store, key, owner, nowMs, { mode: "digest" });
    return { kind: "done", detail: "counted into the rule's digest" };
  }

  const posted = await postSlackMessage(deps.target, buildSlackCard(result), timeout(deps));
  const failure = await settle(posted, () => releaseLease(deps.store, key, owner));
  if (failure) return failure;
  const ts = posted.kind === "ok" ? posted.ts : null;
  const channel = posted.kind === "ok" ? posted.channel : null;
  await markDone(deps.store, key, owner, nowMs, { mode: "card", ...(ts ? { ts } : {}), ...(channel ? { channel } : {}) });
  // Bot mode: the full guide as a thread under the card. Best effort once the card is out: a
  // failure here must not post the card again.
  if (deps.target.mode === "bot" && ts) {
    for (const reply of buildGuideReplies(result)) {
      const r = await postSlackMessage(deps.target, reply, { ...timeout(deps), threadTs: ts });
      if (r.kind !== "ok") return { kind: "done", detail: `card posted; guide thread stopped: ${describe(r)}` };
    }
  }
  return { kind: "done", detail: "card posted" };
}

async function deliverRetraction(alertId: string, deps: SlackDeliveryDeps, owner: string, nowMs: number): Promise<SlackDeliveryOutcome> {
  const nowSec = Math.floor(nowMs / 1000);
  const stored = await getStoredTriageResult(deps.store, alertId, nowSec);
  if (!stored) return { kind: "done", detail: "no triage result (alert expired)" };
  const plan = retractionPlan(await getDeliveryMark(deps.store, { alertId, output: "slack", phase: "open" }, nowSec));
  if (plan.kind === "skip") return { kind: "done", detail: "no card was posted, so no follow-up" };
  if (plan.kind === "wait") return { kind: "retry", retryAfterSeconds: 30, detail: "the card is being posted" };
  const key: DeliveryKey = { alertId, output: "slack", phase: "retracted" };
  const claim = await claimLease(deps.store, key, owner, nowMs, deps.leaseMs ?? 60_000, stored.expiresAt !== null ? { expiresAt: stored.expiresAt } : {});
  if (claim.kind === "done") return { kind: "done", detail: "follow-up already posted" };
  if (claim.kind === "held") return { kind: "retry", retryAfterSeconds: seconds(claim.retryAfterMs), detail: "lease held by another deliverer" };
  const threaded = deps.target.mode === "bot" && plan.threadTs !== null;
  const posted = await postSlackMessage(deps.target, buildRetractionMessage(stored.result, { threaded }), {
    ...timeout(deps), ...(threaded ? { threadTs: plan.threadTs!, replyBroadcast: true } : {}),
  });
  const failure = await settle(posted, () => releaseLease(deps.store, key, owner));
  if (failure) return failure;
  await markDone(deps.store, key, owner, nowMs, { mode: "card", ...(posted.kind === "ok" && posted.ts ? { ts: posted.ts } : {}) });
  return { kind: "done", detail: "retraction posted" };
}

async function deliverDigest(job: Extract<SlackJob, { type: "digest" }>, deps: SlackDeliveryDeps, owner: string, nowMs: number): Promise<SlackDeliveryOutcome> {
  const ref = { ruleId: job.ruleId, window: job.window };
  const claim = await claimDigestFlush(deps.store, ref, owner, nowMs, deps.leaseMs ?? 60_000);
  switch (claim.kind) {
    case "missing":
      return { kind: "done", detail: "no such digest" };
    case "done":
      return { kind: "done", detail: "digest already posted" };
    case "retry":
      return { kind: "retry", retryAfterSeconds: seconds(claim.retryAfterMs), detail: "digest window still open or being posted" };
    case "claimed": {
      const posted = await postSlackMessage(deps.target, buildDigestMessage(claim.summary), timeout(deps));
      const failure = await settle(posted, () => releaseDigestLease(deps.store, ref, owner));
      if (failure) return failure;
      await markDigestPosted(deps.store, ref, owner, nowMs, posted.kind === "ok" && posted.ts ? { ts: posted.ts } : {});
      return { kind: "done", detail: `digest of ${claim.summary.count} alerts posted` };
    }
    default: {
      const never: never = claim;
      return { kind: "failed", error: `unknown digest claim ${JSON.stringify(never)}` };
    }
  }
}

function timeout(deps: SlackDeliveryDeps): { timeoutMs?: number } {
  return deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {};
}

/** Null when posted; otherwise gives the lease back and says when to retry, or that it failed for good. */
async function settle(posted: PostResult, release: () => Promise<boolean>): Promise<SlackDeliveryOutcome | null> {
  if (posted.kind === "ok") return null;
  await release();
  switch (posted.kind) {
    case "retry_after":
      return { kind: "retry", retryAfterSeconds: Math.max(1, posted.seconds), detail: "Slack rate limit (Retry-After)" };
    case "timeout":
      return { kind: "retry", retryAfterSeconds: 30, detail: "Slack did not answer in time" };
    case "failed":
      return posted.retryable ? { kind: "retry", retryAfterSeconds: 30, detail: `Slack: ${posted.error}` } : { kind: "failed", error: `Slack: ${posted.error}` };
    default: {
      const never: never = posted;
      return { kind: "failed", error: `unknown post result ${JSON.stringify(never)}` };
    }
  }
}

function describe(r: PostResult): string {
  switch (r.kind) {
    case "ok": return "ok";
    case "retry_after": return `rate limited for ${r.seconds}s`;
    case "timeout": return "timeout";
    case "failed": return r.error;
    default: {
      const never: never = r;
      return String(never);
    }
  }
}
