/**
 * Triage results, stored next to their alert (`alert#<id>` / `triage`) over the ItemStore port,
 * so that a redelivered Slack message or a retry renders the same card without asking the
 * reputation providers again.
 *
 * `putTriageResult` is one transaction:
 * - the result item, conditional so that a stale triage never overwrites a newer status: an open
 *   result lands only where there is none or an open one (a re-triage by the sweep), a retraction
 *   result always lands (it replaces the open one);
 * - the alert item loses its `pendingTriage` attribute (the sparse index the sweep reads), on the
 *   condition that the alert still exists and, for an open result, is still open. So a sweep that
 *   read an open alert just before the detector retracted it cannot write an open result after
 *   the retraction's triage, nor clear the flag the retraction's triage still needs.
 *
 * Neither write re-triggers triage: the stream filter passes only alert inserts and the
 * open -> retracted MODIFY, and removing `pendingTriage` changes no status.
 *
 * The result is stored as JSON text, not as a DynamoDB map: guide trees can nest deeper than
 * DynamoDB's 32 levels, and text round-trips every value exactly.
 */
import { TRIAGE_RESULT_VERSION, type TriageResult } from "../triage/result.js";
import { StoreError, type Condition, type ItemKey, type ItemStore } from "./items.js";

export function triageResultKey(alertId: string): ItemKey {
  return { pk: `alert#${alertId}`, sk: "triage" };
}

export function alertItemKey(alertId: string): ItemKey {
  return { pk: `alert#${alertId}`, sk: "alert" };
}

/** DynamoDB's item limit is 400 KB; keep room for the key and attribute names. */
export const MAX_RESULT_BYTES = 380 * 1024;

export type PutTriageResult =
  | { readonly ok: true }
  /** A newer result (a retraction) is stored, or the alert is no longer open: nothing written. */
  | { readonly ok: false; readonly reason: "stale" }
  /** The alert item does not exist (never written, or deleted after its TTL): nothing written. */
  | { readonly ok: false; readonly reason: "alert_missing" }
  /** The serialized result exceeds what one item holds. */
  | { readonly ok: false; readonly reason: "too_large"; readonly bytes: number };

export interface PutTriageOptions {
  /** TTL, epoch seconds: the alert item's `expiresAt`, so that both go together. */
  readonly expiresAt?: number;
}

export async function putTriageResult(store: ItemStore, result: TriageResult, options: PutTriageOptions = {}): Promise<PutTriageResult> {
  const json = JSON.stringify(result);
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > MAX_RESULT_BYTES) return { ok: false, reason: "too_large", bytes };
  const open = result.status === "open";
  const resultCondition: Condition | undefined = open
    ? { op: "or", conditions: [{ op: "not_exists" }, { op: "equals", attr: "status", value: "open" }] }
    : undefined;
  const alertCondition: Condition = open
    ? { op: "and", conditions: [{ op: "exists" }, { op: "equals", attr: "status", value: "open" }] }
    : { op: "exists" };
  const r = await store.transact([
    {
      kind: "put",
      item: {
        ...triageResultKey(result.alertId),
        kind: "triage",
        status: result.status,
        version: result.version,
        triagedAt: result.triagedAt,
        result: json,
        ...(options.expiresAt !== undefined ? { expiresAt: options.expiresAt } : {}),
      },
      ...(resultCondition ? { condition: resultCondition } : {}),
    },
    { kind: "update", key: alertItemKey(result.alertId), update: { remove: ["pendingTriage"] }, condition: alertCondition },
  ]);
  if (r.ok) return { ok: true };
  if (!r.failed.includes(1)) return { ok: false, reason: "stale" };
  // The alert condition failed: missing, or (for an open result) retracted meanwhile.
  const alert = await store.get(alertItemKey(result.alertId), { nowSec: 0 });
  return alert ? { ok: false, reason: "stale" } : { ok: false, reason: "alert_missing" };
}

/** A stored result with the TTL it was written with (delivery marks take the same TTL). */
export interface StoredTriageResult {
  readonly result: TriageResult;
  /** Epoch seconds, or null when written without one. */
  readonly expiresAt: number | null;
}

/** The stored result, or null. A result of an unknown version is a StoreError, never a guess. */
export async function getStoredTriageResult(store: ItemStore, alertId: string, nowSec: number): Promise<StoredTriageResult | null> {
  const item = await store.get(triageResultKey(alertId), { nowSec });
  if (!item) return null;
  if (typeof item.result !== "string") throw new StoreError(`triage result of alert ${alertId} has no result text`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(item.result);
  } catch (err) {
    throw new StoreError(`triage result of alert ${alertId} is not JSON`, { cause: err });
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (version !== TRIAGE_RESULT_VERSION) throw new StoreError(`triage result of alert ${alertId} has version ${String(version)}, expected ${TRIAGE_RESULT_VERSION}`);
  return { result: parsed as TriageResult, expiresAt: typeof item.expiresAt === "number" ? item.expiresAt : null };
}

/** The stored result alone (see getStoredTriageResult). */
export async function getTriageResult(store: ItemStore, alertId: string, nowSec: number): Promise<TriageResult | null> {
  return (await getStoredTriageResult(store, alertId, nowSec))?.result ?? null;
}
