import { describe, expect, it } from "vitest";
import {
  admitAlert, claimDigestFlush, counterKey, digestKey, digestLimitFromEnv, flushDelaySeconds, SlackJobSchema, type AdmitInput,
} from "../lib/deliver/digest.js";
import { buildDigestMessage } from "../lib/deliver/slack-card.js";
import type { ItemStore, TxOp } from "../lib/store/items.js";
import { MemoryItemStore } from "../lib/store/memory.js";

const WINDOW_MS = 60_000;
const T0 = 1_763_629_920_000; // 2025-11-20T09:12:00Z, the start of a window
const input = (i: number): AdmitInput => ({ alertId: `a${i}`, ruleId: "3e441bdb", ruleName: "Potential Remote File Execution via MSIEXEC", severity: "low", host: `WIN-${i}` });

describe("alert-storm digest", () => {
  it("turns a storm into a few cards and one digest message", async () => {
    const store = new MemoryItemStore();
    const decisions = [];
    for (let i = 0; i < 50; i++) decisions.push(await admitAlert(store, input(i), T0 + i * 1_000, { limit: 3 }));
    expect(decisions.filter((d) => d.kind === "card")).toHaveLength(3);
    const flushes = decisions.flatMap((d) => (d.kind === "digest" && d.flush ? [d.flush] : []));
    expect(flushes).toEqual([{ ruleId: "3e441bdb", window: T0 / WINDOW_MS, dueAtMs: T0 + WINDOW_MS + 5_000 }]);
    expect(decisions.findIndex((d) => d.kind === "digest" && d.flush)).toBe(3); // the first alert over the limit
    // The flush is delayed until the window has closed, plus the grace period.
    expect(flushDelaySeconds(flushes[0]!, T0 + 3_000)).toBe(62);

    const claim = await claimDigestFlush(store, flushes[0]!, "msg-1", flushes[0]!.dueAtMs, 30_000);
    if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${claim.kind}`);
    expect(claim.summary).toMatchObject({ count: 47, limit: 3, sampleHosts: ["WIN-3", "WIN-4", "WIN-5", "WIN-6", "WIN-7"] });
    const message = buildDigestMessage(claim.summary);
    expect(message.text).toBe("47 more alerts of Potential Remote File Execution via MSIEXEC");
    expect(JSON.stringify(message.blocks)).toContain("`WIN-3`, `WIN-4`, `WIN-5`, `WIN-6`, `WIN-7`");
  });

  it("with a limit of 0 sends only digests", async () => {
    const store = new MemoryItemStore();
    expect(await admitAlert(store, input(1), T0, { limit: 0 })).toMatchObject({ kind: "digest", flush: { window: T0 / WINDOW_MS } });
    expect(await admitAlert(store, input(2), T0, { limit: 0 })).toMatchObject({ kind: "digest", flush: null });
  });

  it("counts an alert into the digest exactly once when it crashed half way (the counter may count it twice)", async () => {
    const inner = new MemoryItemStore();
    let failNext = false;
    const flaky: ItemStore = {
      batchPut: (items) => inner.batchPut(items),
      query: (pk, range, options) => inner.query(pk, range, options),
      get: (key, options) => inner.get(key, options),
      update: (key, update, condition) => inner.update(key, update, condition),
      delete: (key) => inner.delete(key),
      transact: async (ops: readonly TxOp[]) => {
        if (failNext) {
          failNext = false;
          throw new Error("Lambda timed out");
        }
        return inner.transact(ops);
      },
    };
    await admitAlert(flaky, input(1), T0, { limit: 1 });
    failNext = true;
    await expect(admitAlert(flaky, input(2), T0 + 1, { limit: 1 })).rejects.toThrow("Lambda timed out");
    expect(await admitAlert(flaky, input(2), T0 + 2, { limit: 1 })).toMatchObject({ kind: "digest", flush: { window: T0 / WINDOW_MS } });
    expect((await inner.get(counterKey("3e441bdb", T0 / WINDOW_MS), { nowSec: 0 }))?.count).toBe(3);
    expect((await inner.get(digestKey({ ruleId: "3e441bdb", window: T0 / WINDOW_MS }), { nowSec: 0 }))?.count).toBe(1);
  });

  it("validates its configuration", async () => {
    const store = new MemoryItemStore();
    await expect(admitAlert(store, input(1), T0, { limit: -1 })).rejects.toThrow(RangeError);
    await expect(admitAlert(store, input(1), T0, { limit: 1.5 })).rejects.toThrow(/whole number/);
    await expect(admitAlert(store, input(1), T0, { limit: 1, windowMs: 10 })).rejects.toThrow(/windowMs/);
    expect(digestLimitFromEnv(undefined)).toBe(20);
    expect(digestLimitFromEnv("", 7)).toBe(7);
    expect(digestLimitFromEnv("5")).toBe(5);
    expect(digestLimitFromEnv("0")).toBe(0);
    expect(() => digestLimitFromEnv("-1")).toThrow(/SLACK_DIGEST_THRESHOLD must be a whole number >= 0, got "-1"/);
    expect(() => digestLimitFromEnv("ten")).toThrow(/SLACK_DIGEST_THRESHOLD/);
  });

  it("clamps the flush delay to what SQS allows", () => {
    const flush = { ruleId: "r", window: 1, dueAtMs: 100_000 };
    expect(flushDelaySeconds(flush, 200_000)).toBe(0);
    expect(flushDelaySeconds(flush, 99_500)).toBe(1);
    expect(flushDelaySeconds({ ...flush, dueAtMs: 10_000_000 }, 0)).toBe(900);
  });

  it("describes the Slack queue's jobs", () => {
    expect(SlackJobSchema.parse({ type: "alert", alertId: "a1", phase: "open" })).toEqual({ type: "alert", alertId: "a1", phase: "open" });
    expect(SlackJobSchema.parse({ type: "digest", ruleId: "r", window: 29_394_165 })).toEqual({ type: "digest", ruleId: "r", window: 29_394_165 });
    expect(SlackJobSchema.safeParse({ type: "alert", alertId: "a1" }).success).toBe(false);
    expect(SlackJobSchema.safeParse({ type: "digest", ruleId: "r", window: -1 }).success).toBe(false);
    expect(SlackJobSchema.safeParse({ type: "other" }).success).toBe(false);
  });
});
