/**
 * The contract of the reputation cache over any ItemStore adapter (memory, DynamoDB): the key
 * layout of DESIGN.md, positive and negative TTLs, overwrites, isolation between providers and
 * addresses, and that expired records are never read back.
 */
import { describe, expect, it } from "vitest";
import type { ItemStore } from "../../lib/store/items.js";
import { reputationCache, reputationCacheKey } from "../../lib/store/reputation-cache.js";

export function reputationCacheContract(name: string, makeStore: () => Promise<ItemStore> | ItemStore): void {
  // Far beyond the real clock (as in store-contract.ts): DynamoDB Local's TTL sweeper deletes
  // items whose expiresAt has really passed, and expiry here must follow the injected clock only.
  const NOW_MS = 4_000_000_000_000;
  const NOW_SEC = NOW_MS / 1000;
  const POS = 24 * 3600;
  const NEG = 6 * 3600;
  const data = { status: "found", verdict: "malicious", score: 87, detail: "abuse confidence 87%; 12 reports", extra: { nested: [1, null, "x"] } };

  describe(`reputation cache contract: ${name}`, () => {
    it("stores under rep#<provider>#<ip> / rep with expiresAt in epoch seconds", async () => {
      const store = await makeStore();
      const cache = reputationCache(store, { positiveTtlSec: POS, negativeTtlSec: NEG });
      expect(await cache.put([{ provider: "abuseipdb", ip: "8.8.8.8", outcome: "positive", data }], { nowMs: NOW_MS + 999 })).toEqual({ unprocessed: 0 });
      const raw = await store.get({ pk: "rep#abuseipdb#8.8.8.8", sk: "rep" }, { nowSec: NOW_SEC });
      expect(raw).toEqual({ pk: "rep#abuseipdb#8.8.8.8", sk: "rep", outcome: "positive", data, storedAtMs: NOW_MS + 999, expiresAt: NOW_SEC + POS });
      expect(reputationCacheKey("greynoise", "2001:4860:4860::8888")).toEqual({ pk: "rep#greynoise#2001:4860:4860::8888", sk: "rep" });
    });

    it("misses, hits, and expires positive answers after the positive TTL", async () => {
      const cache = reputationCache(await makeStore(), { positiveTtlSec: POS, negativeTtlSec: NEG });
      expect(await cache.get("abuseipdb", "8.8.8.8", { nowMs: NOW_MS })).toBeNull();
      await cache.put([{ provider: "abuseipdb", ip: "8.8.8.8", outcome: "positive", data }], { nowMs: NOW_MS });
      expect(await cache.get("abuseipdb", "8.8.8.8", { nowMs: NOW_MS })).toEqual({ outcome: "positive", data, storedAtMs: NOW_MS, expiresAt: NOW_SEC + POS });
      expect(await cache.get("abuseipdb", "8.8.8.8", { nowMs: (NOW_SEC + POS) * 1000 + 999 })).not.toBeNull();
      expect(await cache.get("abuseipdb", "8.8.8.8", { nowMs: (NOW_SEC + POS + 1) * 1000 })).toBeNull();
    });

    it("negative answers live for the shorter negative TTL", async () => {
      const cache = reputationCache(await makeStore(), { positiveTtlSec: POS, negativeTtlSec: NEG });
      const negative = { status: "not_found", verdict: "unknown", score: null, detail: "not observed" };
      await cache.put([{ provider: "greynoise", ip: "9.9.9.9", outcome: "negative", data: negative }], { nowMs: NOW_MS });
      expect(await cache.get("greynoise", "9.9.9.9", { nowMs: NOW_MS + (NEG - 1) * 1000 })).toMatchObject({ outcome: "negative", data: negative, expiresAt: NOW_SEC + NEG });
      expect(await cache.get("greynoise", "9.9.9.9", { nowMs: NOW_MS + (NEG + 1) * 1000 })).toBeNull();
    });

    it("overwrites: a later answer replaces the earlier one and its TTL", async () => {
      const cache = reputationCache(await makeStore(), { positiveTtlSec: POS, negativeTtlSec: NEG });
      await cache.put([{ provider: "abuseipdb", ip: "1.1.1.1", outcome: "positive", data }], { nowMs: NOW_MS });
      await cache.put([{ provider: "abuseipdb", ip: "1.1.1.1", outcome: "negative", data: { status: "not_found" } }], { nowMs: NOW_MS + 1000 });
      expect(await cache.get("abuseipdb", "1.1.1.1", { nowMs: NOW_MS + 2000 })).toEqual({ outcome: "negative", data: { status: "not_found" }, storedAtMs: NOW_MS + 1000, expiresAt: NOW_SEC + 1 + NEG });
    });

    it("keeps providers and addresses apart, IPv4 and IPv6, in batches larger than 25", async () => {
      const cache = reputationCache(await makeStore());
      const writes = Array.from({ length: 60 }, (_, i) => ({
        provider: i % 2 === 0 ? "abuseipdb" : "greynoise",
        ip: i % 3 === 0 ? `2001:4860::${i.toString(16)}` : `8.8.${i}.1`,
        outcome: "positive" as const,
        data: { n: i },
      }));
      expect(await cache.put(writes, { nowMs: NOW_MS })).toEqual({ unprocessed: 0 });
      for (const w of writes) expect((await cache.get(w.provider, w.ip, { nowMs: NOW_MS }))?.data).toEqual({ n: w.data.n });
      expect(await cache.get("greynoise", "8.8.2.1", { nowMs: NOW_MS })).toBeNull(); // written for abuseipdb only
      expect(await cache.put([], { nowMs: NOW_MS })).toEqual({ unprocessed: 0 });
    });

    it("rejects keys that could collide or smuggle separators, and bad TTLs", async () => {
      const store = await makeStore();
      const cache = reputationCache(store);
      await expect(cache.get("abuse#ipdb", "8.8.8.8", { nowMs: NOW_MS })).rejects.toThrow(/bad provider name/);
      await expect(cache.get("abuseipdb", "8.8.8.8#x", { nowMs: NOW_MS })).rejects.toThrow(/bad address/);
      await expect(cache.put([{ provider: "abuseipdb", ip: "", outcome: "positive", data: {} }], { nowMs: NOW_MS })).rejects.toThrow(/bad address/);
      expect(() => reputationCache(store, { positiveTtlSec: 0 })).toThrow(/positiveTtlSec/);
      expect(() => reputationCache(store, { negativeTtlSec: 1.5 })).toThrow(/negativeTtlSec/);
    });

    it("reads a record that is not the cache's shape as a miss", async () => {
      const store = await makeStore();
      await store.batchPut([{ pk: "rep#abuseipdb#7.7.7.7", sk: "rep", outcome: "maybe", data: {}, storedAtMs: NOW_MS, expiresAt: NOW_SEC + 10 }]);
      await store.batchPut([{ pk: "rep#abuseipdb#7.7.7.8", sk: "rep", outcome: "positive", data: "text", storedAtMs: NOW_MS, expiresAt: NOW_SEC + 10 }]);
      const cache = reputationCache(store);
      expect(await cache.get("abuseipdb", "7.7.7.7", { nowMs: NOW_MS })).toBeNull();
      expect(await cache.get("abuseipdb", "7.7.7.8", { nowMs: NOW_MS })).toBeNull();
    });
  });
}
