/**
 * The reputation cache over the ItemStore port, so the in-memory and the DynamoDB adapters both
 * have it (DESIGN.md "DynamoDB": pk `rep#<provider>#<ip>`, sk `rep`, TTL `expiresAt` in epoch
 * seconds). It holds provider answers, positive and negative, with their own TTLs; failures are
 * never cached (the type has no outcome for them), so a provider outage ends with the outage.
 *
 * The store knows nothing of providers' evidence: it keeps a small JSON record per key, and the
 * triage side (lib/triage/reputation/enrich.ts) validates what it reads back, treating anything
 * unexpected as a miss.
 */
import type { AttrValue, Item, ItemKey, ItemStore } from "./items.js";

export type CacheOutcome = "positive" | "negative";

export interface ReputationCacheOptions {
  /** TTL of answers that know something about the address. @default 24 hours */
  readonly positiveTtlSec?: number;
  /** TTL of "nothing known" answers: shorter, as an address can start misbehaving. @default 6 hours */
  readonly negativeTtlSec?: number;
}

export interface CachedReputation {
  readonly outcome: CacheOutcome;
  readonly data: Readonly<Record<string, AttrValue>>;
  /** When it was stored (epoch ms, the writer's clock). */
  readonly storedAtMs: number;
  /** When it expires (epoch seconds). */
  readonly expiresAt: number;
}

export interface ReputationCacheWrite {
  readonly provider: string;
  readonly ip: string;
  readonly outcome: CacheOutcome;
  readonly data: Readonly<Record<string, AttrValue>>;
}

export interface ReputationCache {
  /** The unexpired record, or null. Throws StoreError when the store fails. */
  get(provider: string, ip: string, options: { readonly nowMs: number }): Promise<CachedReputation | null>;
  /** Writes records (overwriting); returns how many could not be written. Throws on bad keys. */
  put(writes: readonly ReputationCacheWrite[], options: { readonly nowMs: number }): Promise<{ readonly unprocessed: number }>;
}

export const DEFAULT_POSITIVE_TTL_SEC = 24 * 3600;
export const DEFAULT_NEGATIVE_TTL_SEC = 6 * 3600;
export const REPUTATION_SK = "rep";

/** Key parts may not contain the separator or be empty; both come from validated sources anyway. */
const KEY_PART = /^[A-Za-z0-9_.:-]{1,64}$/;

export function reputationCacheKey(provider: string, ip: string): ItemKey {
  if (!KEY_PART.test(provider)) throw new Error(`bad provider name for the reputation cache: ${JSON.stringify(provider.slice(0, 80))}`);
  if (!KEY_PART.test(ip)) throw new Error(`bad address for the reputation cache: ${JSON.stringify(ip.slice(0, 80))}`);
  return { pk: `rep#${provider}#${ip}`, sk: REPUTATION_SK };
}

export function reputationCache(store: ItemStore, options: ReputationCacheOptions = {}): ReputationCache {
  const positive = options.positiveTtlSec ?? DEFAULT_POSITIVE_TTL_SEC;
  const negative = options.negativeTtlSec ?? DEFAULT_NEGATIVE_TTL_SEC;
  for (const [what, v] of [["positiveTtlSec", positive], ["negativeTtlSec", negative]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${what} must be a positive whole number of seconds, got ${v}`);
  }
  return {
    async get(provider, ip, { nowMs }) {
      const item = await store.get(reputationCacheKey(provider, ip), { nowSec: Math.floor(nowMs / 1000) });
      if (item === null) return null;
      const { outcome, data, storedAtMs, expiresAt } = item;
      if ((outcome !== "positive" && outcome !== "negative") || typeof storedAtMs !== "number" || typeof expiresAt !== "number") return null;
      if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
      return { outcome, data: data as Readonly<Record<string, AttrValue>>, storedAtMs, expiresAt };
    },
    async put(writes, { nowMs }) {
      if (writes.length === 0) return { unprocessed: 0 };
      const nowSec = Math.floor(nowMs / 1000);
      const items: Item[] = writes.map((w) => ({
        ...reputationCacheKey(w.provider, w.ip),
        outcome: w.outcome,
        data: w.data,
        storedAtMs: nowMs,
        expiresAt: nowSec + (w.outcome === "positive" ? positive : negative),
      }));
      const r = await store.batchPut(items);
      return { unprocessed: r.unprocessed.length };
    },
  };
}
