/**
 * The contract of what lib/deliver keeps in the item store (triage results, delivery marks, the
 * alert-storm digest), run against every ItemStore adapter: the in-memory store and DynamoDB Local.
 * Everything goes through the port, so passing here on both means the logic holds on both.
 */
import { describe, expect, it } from "vitest";
import { admitAlert, claimDigestFlush, counterKey, digestKey, markDigestPosted, releaseDigestLease, type AdmitInput } from "../../lib/deliver/digest.js";
import { claimLease, deliveryMarkKey, getDeliveryMark, markDone, releaseLease, type DeliveryKey } from "../../lib/store/delivery-marks.js";
import { StoreError, type ItemStore } from "../../lib/store/items.js";
import { alertItemKey, getStoredTriageResult, getTriageResult, putTriageResult, triageResultKey } from "../../lib/store/triage-results.js";
import type { Guide, GuideBlock, TriageResult } from "../../lib/triage/result.js";
import { seedTriageResult } from "./triage-fixture.js";

// Far beyond the real clock, so that DynamoDB Local's TTL sweeper never deletes what a case reads.
const NOW_SEC = 4_000_000_000;
const NOW_MS = NOW_SEC * 1000;

export function deliveryStoreContract(name: string, makeStore: () => Promise<ItemStore> | ItemStore): void {
  const resultFor = (alertId: string, status: "open" | "retracted", triagedAt = "2026-11-20T09:13:27.000Z"): TriageResult => {
    const base = seedTriageResult();
    return { ...base, alertId, status, triagedAt, alert: { ...base.alert, id: alertId, status } };
  };
  const putAlert = async (s: ItemStore, alertId: string, status: "open" | "retracted" = "open"): Promise<void> => {
    await s.batchPut([{ ...alertItemKey(alertId), kind: "alert", status, pendingTriage: 1, expiresAt: NOW_SEC + 3600 }]);
  };

  describe(`triage results: ${name}`, () => {
    it("stores a result next to its alert with the alert's TTL and clears pendingTriage in the same write", async () => {
      const s = await makeStore();
      await putAlert(s, "a1");
      const r = resultFor("a1", "open");
      expect(await putTriageResult(s, r, { expiresAt: NOW_SEC + 3600 })).toEqual({ ok: true });
      expect(await getTriageResult(s, "a1", NOW_SEC)).toEqual(r);
      expect(await getStoredTriageResult(s, "a1", NOW_SEC)).toEqual({ result: r, expiresAt: NOW_SEC + 3600 });
      const alert = await s.get(alertItemKey("a1"), { nowSec: NOW_SEC });
      expect(alert).toMatchObject({ status: "open", kind: "alert" });
      expect(alert).not.toHaveProperty("pendingTriage");
      expect(await s.get(triageResultKey("a1"), { nowSec: NOW_SEC })).toMatchObject({ status: "open", version: 1, expiresAt: NOW_SEC + 3600 });
      // Past its TTL the result is gone for readers, like every item.
      expect(await getTriageResult(s, "a1", NOW_SEC + 3601)).toBeNull();
      expect(await getTriageResult(s, "none", NOW_SEC)).toBeNull();
    });

    it("lets a retraction replace an open result, never the other way round", async () => {
      const s = await makeStore();
      await putAlert(s, "a2");
      expect(await putTriageResult(s, resultFor("a2", "open"))).toEqual({ ok: true });
      // A re-triage (the sweep) of an open alert replaces the open result.
      expect(await putTriageResult(s, resultFor("a2", "open", "2026-11-20T09:20:00.000Z"))).toEqual({ ok: true });
      expect((await getTriageResult(s, "a2", NOW_SEC))?.triagedAt).toBe("2026-11-20T09:20:00.000Z");
      await s.update(alertItemKey("a2"), { set: { status: "retracted" } });
      expect(await putTriageResult(s, resultFor("a2", "retracted"))).toEqual({ ok: true });
      // A stale open triage (read before the retraction) does not overwrite it.
      expect(await putTriageResult(s, resultFor("a2", "open", "2026-11-20T09:30:00.000Z"))).toEqual({ ok: false, reason: "stale" });
      expect((await getTriageResult(s, "a2", NOW_SEC))?.status).toBe("retracted");
    });

    it("does not write an open result for an alert retracted meanwhile, and leaves its flag for the retraction", async () => {
      const s = await makeStore();
      await putAlert(s, "a3", "retracted");
      expect(await putTriageResult(s, resultFor("a3", "open"))).toEqual({ ok: false, reason: "stale" });
      expect(await getTriageResult(s, "a3", NOW_SEC)).toBeNull();
      expect(await s.get(alertItemKey("a3"), { nowSec: NOW_SEC })).toMatchObject({ pendingTriage: 1 });
      expect(await putTriageResult(s, resultFor("a3", "retracted"))).toEqual({ ok: true });
      expect(await s.get(alertItemKey("a3"), { nowSec: NOW_SEC })).not.toHaveProperty("pendingTriage");
    });

    it("writes nothing for a missing alert (and never creates one)", async () => {
      const s = await makeStore();
      expect(await putTriageResult(s, resultFor("gone", "open"))).toEqual({ ok: false, reason: "alert_missing" });
      expect(await putTriageResult(s, resultFor("gone", "retracted"))).toEqual({ ok: false, reason: "alert_missing" });
      expect(await s.get(alertItemKey("gone"), { nowSec: NOW_SEC })).toBeNull();
      expect(await s.get(triageResultKey("gone"), { nowSec: NOW_SEC })).toBeNull();
    });

    it("round-trips a guide nested deeper than DynamoDB's 32 map levels, and refuses what one item cannot hold", async () => {
      const s = await makeStore();
      await putAlert(s, "a4");
      let block: GuideBlock = { type: "paragraph", inline: [{ type: "text", value: "deep" }] };
      for (let i = 0; i < 40; i++) block = { type: "list", ordered: false, items: [{ inline: [{ type: "text", value: `level ${i}` }], children: [block] }] };
      const guide: Guide = { aiGenerated: false, sections: [{ kind: "investigation", title: "Deep", blocks: [block] }] };
      const deep = { ...resultFor("a4", "open"), guide };
      expect(await putTriageResult(s, deep)).toEqual({ ok: true });
      expect(await getTriageResult(s, "a4", NOW_SEC)).toEqual(deep);
      const big = { ...resultFor("a4", "open"), summary: "x".repeat(400 * 1024) };
      expect(await putTriageResult(s, big)).toMatchObject({ ok: false, reason: "too_large" });
    });

    it("refuses to guess at a result of another version", async () => {
      const s = await makeStore();
      await s.batchPut([{ ...triageResultKey("v9"), result: JSON.stringify({ version: 9 }) }]);
      await expect(getTriageResult(s, "v9", NOW_SEC)).rejects.toThrow(StoreError);
      await expect(getTriageResult(s, "v9", NOW_SEC)).rejects.toThrow(/version 9, expected 1/);
    });
  });

  describe(`delivery marks: ${name}`, () => {
    const key = (alertId: string, phase: "open" | "retracted" = "open"): DeliveryKey => ({ alertId, output: "slack", phase });

    it("leases, blocks others until the lease expires, and lets the owner re-claim", async () => {
      const s = await makeStore();
      const k = key("m1");
      const first = await claimLease(s, k, "owner-a", NOW_MS, 30_000, { expiresAt: NOW_SEC + 3600 });
      expect(first).toMatchObject({ kind: "claimed", mark: { state: "leased", owner: "owner-a", leaseUntilMs: NOW_MS + 30_000, attempts: 1 } });
      expect(await claimLease(s, k, "owner-b", NOW_MS + 1_000, 30_000)).toMatchObject({ kind: "held", retryAfterMs: 29_000 });
      expect(await claimLease(s, k, "owner-a", NOW_MS + 2_000, 30_000)).toMatchObject({ kind: "claimed", mark: { attempts: 2 } });
      // owner-a crashed: once its lease has expired, owner-b takes over.
      expect(await claimLease(s, k, "owner-b", NOW_MS + 40_000, 30_000)).toMatchObject({ kind: "claimed", mark: { owner: "owner-b", attempts: 3 } });
      expect(await markDone(s, k, "owner-a", NOW_MS + 41_000, { mode: "card" })).toBe(false);
      expect(await markDone(s, k, "owner-b", NOW_MS + 41_000, { mode: "card", ts: "1700000000.000100", channel: "C123" })).toBe(true);
      expect(await claimLease(s, k, "owner-c", NOW_MS + 100_000, 30_000)).toEqual({
        kind: "done",
        mark: { state: "done", owner: "owner-b", leaseUntilMs: NOW_MS + 70_000, attempts: 3, doneAtMs: NOW_MS + 41_000, receipt: { mode: "card", ts: "1700000000.000100", channel: "C123" } },
      });
      expect(await s.get(deliveryMarkKey(k), { nowSec: NOW_SEC })).toMatchObject({ pk: "alert#m1", sk: "delivery#slack", expiresAt: NOW_SEC + 3600 });
    });

    it("releases a lease after a failed attempt so the retry need not wait", async () => {
      const s = await makeStore();
      const k = key("m2");
      await claimLease(s, k, "a", NOW_MS, 60_000);
      expect(await releaseLease(s, k, "b")).toBe(false);
      expect(await releaseLease(s, k, "a")).toBe(true);
      expect(await claimLease(s, k, "b", NOW_MS + 1, 60_000)).toMatchObject({ kind: "claimed", mark: { owner: "b" } });
    });

    it("keeps the open delivery and the retraction follow-up apart", async () => {
      const s = await makeStore();
      await claimLease(s, key("m3"), "a", NOW_MS, 60_000);
      await markDone(s, key("m3"), "a", NOW_MS, { mode: "digest" });
      expect(await claimLease(s, key("m3", "retracted"), "a", NOW_MS, 60_000)).toMatchObject({ kind: "claimed" });
      expect(deliveryMarkKey(key("m3", "retracted"))).toEqual({ pk: "alert#m3", sk: "delivery#slack#retracted" });
      expect(await getDeliveryMark(s, key("m3"), NOW_SEC)).toMatchObject({ state: "done", receipt: { mode: "digest" } });
      expect(await getDeliveryMark(s, key("none"), NOW_SEC)).toBeNull();
      expect(await getDeliveryMark(s, { alertId: "m3", output: "ticket", phase: "open" }, NOW_SEC)).toBeNull();
    });

    it("gives a contested lease to exactly one of many concurrent deliverers", async () => {
      const s = await makeStore();
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => claimLease(s, key("m4"), `owner-${i}`, NOW_MS, 60_000)));
      expect(results.filter((r) => r.kind === "claimed").length).toBe(1);
      expect(results.filter((r) => r.kind === "held").length).toBe(11);
    });
  });

  describe(`alert-storm digest: ${name}`, () => {
    const WINDOW_MS = 60_000;
    // The start of a window, far beyond the real clock.
    const T0 = Math.floor(NOW_MS / WINDOW_MS) * WINDOW_MS;
    const input = (i: number, ruleId = "rule-1"): AdmitInput => ({ alertId: `alert-${i}`, ruleId, ruleName: "Rule One", severity: "high", host: `host-${i}` });
    const config = { limit: 2, windowMs: WINDOW_MS, sampleSize: 2 };

    it("cards up to the limit, then one digest per window whose first alert schedules it, idempotent per alert", async () => {
      const s = await makeStore();
      expect(await admitAlert(s, input(1), T0 + 1_000, config)).toEqual({ kind: "card" });
      expect(await admitAlert(s, input(2), T0 + 2_000, config)).toEqual({ kind: "card" });
      const window = T0 / WINDOW_MS;
      const flush = { ruleId: "rule-1", window, dueAtMs: T0 + WINDOW_MS + 5_000 };
      expect(await admitAlert(s, input(3), T0 + 3_000, config)).toEqual({ kind: "digest", digest: { ruleId: "rule-1", window }, flush });
      expect(await admitAlert(s, input(4), T0 + 4_000, config)).toEqual({ kind: "digest", digest: { ruleId: "rule-1", window }, flush: null });
      expect(await admitAlert(s, input(5), T0 + 5_000, config)).toMatchObject({ kind: "digest", flush: null });
      // Redeliveries get the same decision and count nothing twice.
      expect(await admitAlert(s, input(1), T0 + 6_000, config)).toEqual({ kind: "card" });
      expect(await admitAlert(s, input(3), T0 + 7_000, config)).toEqual({ kind: "digest", digest: { ruleId: "rule-1", window }, flush });
      expect(await admitAlert(s, input(4), T0 + 8_000, config)).toMatchObject({ kind: "digest", flush: null });
      expect((await s.get(counterKey("rule-1", window), { nowSec: NOW_SEC }))?.count).toBe(5);
      // Another rule has its own budget.
      expect(await admitAlert(s, input(6, "rule-2"), T0 + 9_000, config)).toEqual({ kind: "card" });

      // Posting: not before the window has closed; then once, with the count and samples.
      expect(await claimDigestFlush(s, { ruleId: "rule-1", window }, "flusher", T0 + 30_000, 30_000)).toEqual({ kind: "retry", retryAfterMs: 30_000 });
      const claim = await claimDigestFlush(s, { ruleId: "rule-1", window }, "flusher", T0 + WINDOW_MS + 5_000, 30_000);
      expect(claim).toEqual({
        kind: "claimed",
        summary: {
          ruleId: "rule-1", window, ruleName: "Rule One", severity: "high", count: 3, limit: 2,
          windowStartMs: T0, windowEndMs: T0 + WINDOW_MS, sampleHosts: ["host-3", "host-4"], sampleAlertIds: ["alert-3", "alert-4"],
        },
      });
      expect(await claimDigestFlush(s, { ruleId: "rule-1", window }, "other", T0 + WINDOW_MS + 6_000, 30_000)).toMatchObject({ kind: "retry" });
      // A straggler deciding in the window after its digest closed gets a card of its own.
      expect(await admitAlert(s, input(7), T0 + 59_000, config)).toEqual({ kind: "card" });
      // The flush owner's redelivery no longer schedules anything once the digest is done...
      expect(await markDigestPosted(s, { ruleId: "rule-1", window }, "other", T0 + WINDOW_MS + 7_000)).toBe(false);
      expect(await markDigestPosted(s, { ruleId: "rule-1", window }, "flusher", T0 + WINDOW_MS + 7_000, { ts: "1.2" })).toBe(true);
      expect(await admitAlert(s, input(3), T0 + WINDOW_MS + 8_000, config)).toMatchObject({ kind: "digest", flush: null });
      expect(await claimDigestFlush(s, { ruleId: "rule-1", window }, "late", T0 + WINDOW_MS + 9_000, 30_000)).toEqual({ kind: "done" });
      expect(await claimDigestFlush(s, { ruleId: "rule-1", window: window + 1 }, "x", T0 + 3 * WINDOW_MS, 30_000)).toEqual({ kind: "missing" });
      // ...and the next window starts from zero.
      expect(await admitAlert(s, input(8), T0 + WINDOW_MS + 10_000, config)).toEqual({ kind: "card" });
      expect(await s.get(digestKey({ ruleId: "rule-1", window }), { nowSec: NOW_SEC })).toMatchObject({ state: "done", ts: "1.2", expiresAt: (T0 + WINDOW_MS) / 1000 + 86_400 });
    });

    it("hands a failed post's digest to the next flusher", async () => {
      const s = await makeStore();
      for (let i = 0; i < 4; i++) await admitAlert(s, input(i), T0 + i, { limit: 1, windowMs: WINDOW_MS });
      const ref = { ruleId: "rule-1", window: T0 / WINDOW_MS };
      expect(await claimDigestFlush(s, ref, "a", T0 + WINDOW_MS, 30_000)).toMatchObject({ kind: "claimed", summary: { count: 3 } });
      expect(await releaseDigestLease(s, ref, "a")).toBe(true);
      expect(await claimDigestFlush(s, ref, "b", T0 + WINDOW_MS + 1, 30_000)).toMatchObject({ kind: "claimed", summary: { count: 3 } });
    });

    it("decides a concurrent storm exactly: limit cards, the rest in one digest with one flush owner", async () => {
      const s = await makeStore();
      const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => admitAlert(s, input(i), T0 + 100, { limit: 5, windowMs: WINDOW_MS })));
      expect(decisions.filter((d) => d.kind === "card").length).toBe(5);
      const digested = decisions.filter((d) => d.kind === "digest");
      expect(digested.length).toBe(15);
      expect(digested.filter((d) => d.kind === "digest" && d.flush !== null).length).toBe(1);
      const claim = await claimDigestFlush(s, { ruleId: "rule-1", window: T0 / WINDOW_MS }, "f", T0 + WINDOW_MS, 1_000);
      expect(claim).toMatchObject({ kind: "claimed", summary: { count: 15 } });
    });
  });

}
