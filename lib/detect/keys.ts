import { createHash } from "node:crypto";
import type { KeyValue } from "../eql/index.js";

/**
 * Item keys of the state table (DESIGN.md "DynamoDB"). Sort keys of candidate rows start with the
 * event time as 20 fixed-width digits of nanoseconds, so a time window is one sort-key range and
 * rows, claims and summaries of a partition come back in time order from one Query.
 */

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Nanoseconds as 20 fixed-width digits (times before 1970 clamp to 0). */
export function timeKey(ns: bigint): string {
  return (ns < 0n ? 0n : ns).toString().padStart(20, "0");
}

/** A sort-key-safe form of an event id: short plain ids as they are, anything else hashed. */
export function idKey(id: string): string {
  return /^[A-Za-z0-9_.:@-]{1,128}$/.test(id) ? id : "h-" + sha256(id).slice(0, 40);
}

export function partitionKey(ruleId: string, tuple: readonly KeyValue[]): string {
  return `seq#${ruleId}#${sha256(JSON.stringify(tuple)).slice(0, 32)}`;
}

/**
 * Sort key of a candidate row: time, event, and the stage it matches. (Until and missing-stage
 * hits are summary entries, not rows; rows written as `...#u` by earlier versions still read.)
 */
export function rowSortKey(ts: bigint, eventId: string, stage: number): string {
  return `${timeKey(ts)}#${idKey(eventId)}#s${stage}`;
}

/**
 * Until and missing-stage hits are summarised per time bucket. A window query starts at a bucket
 * start so that it reads every summary that can hold a hit of the window; a minute keeps the extra
 * stretch it reads small next to any rule's window and the number of items per batch low.
 */
export const SUMMARY_BUCKET_NS = 60_000_000_000n;

export function summaryBucketStart(ns: bigint): bigint {
  if (ns <= 0n) return 0n;
  return ns - (ns % SUMMARY_BUCKET_NS);
}

/** Sort key of a summary item: its bucket (so a time range finds it) and a digest of its entries. */
export function summarySortKey(bucketStartNs: bigint, entriesJson: string): string {
  return `${timeKey(bucketStartNs)}#sum#${sha256(entriesJson).slice(0, 24)}`;
}

/** Sort key of a claim: the (event, expanded stage) pair an alert used. */
export function claimSortKey(ts: bigint, eventId: string, expandedStage: number): string {
  return `${timeKey(ts)}#${idKey(eventId)}#c${expandedStage}`;
}

export function alertKey(alertId: string): { pk: string; sk: string } {
  return { pk: `alert#${alertId}`, sk: "alert" };
}

export function suppressionKey(ruleId: string, groupKey: string): { pk: string; sk: string } {
  return { pk: `supp#${ruleId}#${sha256(groupKey).slice(0, 32)}`, sk: "supp" };
}

/** Marks that a suppressed match was counted on its surviving alert (so redelivery counts once). */
export function suppressedMarkKey(survivorId: string, matchId: string): { pk: string; sk: string } {
  return { pk: `suppmark#${survivorId}`, sk: matchId };
}

export function capKey(ruleId: string, intervalStartMs: number): { pk: string; sk: string } {
  return { pk: `cap#${ruleId}`, sk: String(intervalStartMs) };
}

/**
 * A reminder to check, after a few minutes, that an alert (or its retraction) reached triage: the
 * stream is the way alerts reach triage, and this is the safety net when a stream batch failed.
 * Minute buckets rather than a sparse global index: the sweep already walks minute buckets, and
 * the store port stays the same five operations.
 */
export function retriageKey(dueMinute: number, alertId: string): { pk: string; sk: string } {
  return { pk: `retriage#${dueMinute}`, sk: alertId };
}

/** Minutes after an alert or retraction at which the sweep checks that triage saw it. */
export const RETRIAGE_DELAY_MINUTES = 5;

export function timerKey(dueMinute: number, partition: string): { pk: string; sk: string } {
  return { pk: `timer#${dueMinute}`, sk: partition };
}

/**
 * Deterministic alert id: the same match always gets the same id, so duplicate detections (by
 * redelivery or concurrent invocations) collapse on a conditional put.
 */
export function alertId(ruleId: string, tuple: readonly KeyValue[], members: readonly (string | null)[]): string {
  return sha256(JSON.stringify([ruleId, tuple, members])).slice(0, 32);
}
