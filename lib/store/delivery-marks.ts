/**
 * Delivery marks: one item per alert, output and phase (`alert#<id>` / `delivery#<output>`, and
 * `delivery#<output>#retracted` for the follow-up), written over the ItemStore port so that both
 * adapters have them.
 *
 * Slack webhooks take no idempotency key, so a deliverer claims a lease on the mark, posts, then
 * marks the mark done:
 *
 *   claimLease -> "claimed": post -> markDone (or releaseLease on a failure to retry at once)
 *              -> "done":    already delivered, skip
 *              -> "held":    another deliverer holds a live lease: retry after it
 *
 * A lease that expires (the holder crashed or timed out) can be claimed by anyone; the same owner
 * (e.g. the SQS message id on redelivery) may re-claim its own lease at once. A crash between
 * Slack's 200 and `markDone` leaves the lease to expire, and the retry posts the card again:
 * delivery is at-least-once, at most one repeat per expired lease, and that is documented.
 *
 * Marks live as long as the alert (pass the alert's `expiresAt`) and are never read by the stream
 * filter (sort key is not `alert`), so writing them never re-triggers triage.
 */
import type { AttrValue, Condition, Item, ItemKey, ItemStore } from "./items.js";

export type DeliveryOutput = "slack" | "ticket";
export type DeliveryPhase = "open" | "retracted";

export interface DeliveryKey {
  readonly alertId: string;
  readonly output: DeliveryOutput;
  /** The first delivery of an alert, or its retraction follow-up. */
  readonly phase: DeliveryPhase;
}

/** What the output answered, kept so that a retraction can reply in the card's thread. */
export interface DeliveryReceipt {
  /** How the alert went out: its own card, counted into a digest, or deliberately not sent. */
  readonly mode: "card" | "digest" | "skipped";
  /** Slack message timestamp (bot mode: the thread to reply in). */
  readonly ts?: string;
  readonly channel?: string;
  /** SQS message id of a ticket. */
  readonly messageId?: string;
}

export interface DeliveryMark {
  readonly state: "leased" | "done";
  readonly owner: string;
  readonly leaseUntilMs: number;
  /** Claims so far, the first included. */
  readonly attempts: number;
  readonly doneAtMs: number | null;
  readonly receipt: DeliveryReceipt | null;
}

export type ClaimResult =
  | { readonly kind: "claimed"; readonly mark: DeliveryMark }
  | { readonly kind: "done"; readonly mark: DeliveryMark }
  | { readonly kind: "held"; readonly mark: DeliveryMark | null; readonly retryAfterMs: number };

export interface MarkOptions {
  /** TTL of the mark, epoch seconds: the alert's `expiresAt`. */
  readonly expiresAt?: number;
}

export function deliveryMarkKey(key: DeliveryKey): ItemKey {
  return { pk: `alert#${key.alertId}`, sk: key.phase === "open" ? `delivery#${key.output}` : `delivery#${key.output}#retracted` };
}

/**
 * The condition under which `owner` may take a lease on an item with `state`/`owner`/`leaseUntilMs`
 * attributes: the item is missing (when `allowMissing`), or is in one of `freeStates`, or is leased
 * and the lease has expired or is `owner`'s own. A `done` item is never claimable.
 */
export function leaseClaimCondition(owner: string, nowMs: number, options: { readonly allowMissing: boolean; readonly freeStates?: readonly string[] }): Condition {
  const conditions: Condition[] = [
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "less_than", attr: "leaseUntilMs", value: nowMs }] },
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "equals", attr: "owner", value: owner }] },
  ];
  if (options.allowMissing) conditions.unshift({ op: "not_exists" });
  for (const s of options.freeStates ?? []) conditions.push({ op: "equals", attr: "state", value: s });
  return { op: "or", conditions };
}

export async function claimLease(
  store: ItemStore, key: DeliveryKey, owner: string, nowMs: number, leaseMs: number, options: MarkOptions = {},
): Promise<ClaimResult> {
  const itemKey = deliveryMarkKey(key);
  const setIfMissing: Record<string, AttrValue> = { kind: "delivery", output: key.output, phase: key.phase };
  if (options.expiresAt !== undefined) setIfMissing.expiresAt = options.expiresAt;
  const r = await store.update(
    itemKey,
    { set: { state: "leased", owner, leaseUntilMs: nowMs + leaseMs }, add: { attempts: 1 }, setIfMissing },
    leaseClaimCondition(owner, nowMs, { allowMissing: true }),
  );
  if (r.ok) return { kind: "claimed", mark: toMark(r.item)! };
  const current = toMark(await store.get(itemKey, { nowSec: Math.floor(nowMs / 1000) }));
  if (current?.state === "done") return { kind: "done", mark: current };
  // Held by someone else (or gone between the two calls: try again shortly).
  return { kind: "held", mark: current, retryAfterMs: current ? Math.max(1, current.leaseUntilMs - nowMs) : 1 };
}

/**
 * Marks a delivery done, keeping the receipt. False when `owner` no longer holds the lease (it
 * expired and another deliverer took it): the message went out, and may go out once more.
 */
export async function markDone(store: ItemStore, key: DeliveryKey, owner: string, nowMs: number, receipt: DeliveryReceipt): Promise<boolean> {
  const r = await store.update(
    deliveryMarkKey(key),
    { set: { state: "done", doneAtMs: nowMs, receipt: receiptItem(receipt) } },
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "equals", attr: "owner", value: owner }] },
  );
  return r.ok;
}

/** Gives a lease back after a failed attempt, so that the retry need not wait for it to expire. */
export async function releaseLease(store: ItemStore, key: DeliveryKey, owner: string): Promise<boolean> {
  const r = await store.update(
    deliveryMarkKey(key),
    { set: { leaseUntilMs: 0 } },
    { op: "and", conditions: [{ op: "equals", attr: "state", value: "leased" }, { op: "equals", attr: "owner", value: owner }] },
  );
  return r.ok;
}

export async function getDeliveryMark(store: ItemStore, key: DeliveryKey, nowSec: number): Promise<DeliveryMark | null> {
  return toMark(await store.get(deliveryMarkKey(key), { nowSec }));
}

function receiptItem(r: DeliveryReceipt): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = { mode: r.mode };
  if (r.ts !== undefined) out.ts = r.ts;
  if (r.channel !== undefined) out.channel = r.channel;
  if (r.messageId !== undefined) out.messageId = r.messageId;
  return out;
}

function toMark(item: Item | null): DeliveryMark | null {
  if (!item) return null;
  const state = item.state === "done" ? "done" : "leased";
  const receipt = item.receipt;
  return {
    state,
    owner: typeof item.owner === "string" ? item.owner : "",
    leaseUntilMs: typeof item.leaseUntilMs === "number" ? item.leaseUntilMs : 0,
    attempts: typeof item.attempts === "number" ? item.attempts : 0,
    doneAtMs: typeof item.doneAtMs === "number" ? item.doneAtMs : null,
    receipt: isRecord(receipt) ? toReceipt(receipt) : null,
  };
}

function toReceipt(r: { readonly [key: string]: AttrValue }): DeliveryReceipt {
  const mode = r.mode === "digest" || r.mode === "skipped" ? r.mode : "card";
  return {
    mode,
    ...(typeof r.ts === "string" ? { ts: r.ts } : {}),
    ...(typeof r.channel === "string" ? { channel: r.channel } : {}),
    ...(typeof r.messageId === "string" ? { messageId: r.messageId } : {}),
  };
}

function isRecord(v: AttrValue | undefined): v is { readonly [key: string]: AttrValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
