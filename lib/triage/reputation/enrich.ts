/**
 * IP reputation for an alert's addresses: every (public IP, provider) pair looked up at most once,
 * from the cache when it can, with bounded concurrency and a per-call timeout. Internal
 * (special-purpose) addresses are never handed to any provider. Nothing in here throws for a
 * provider's or the cache's sake: a failed lookup is `error` evidence with the reason, a cache
 * that fails is skipped (and reported through `onWarning`), and the verdict degrades to "unknown".
 */
import * as z from "zod";
import type { ReputationCache, ReputationCacheWrite } from "../../store/reputation-cache.js";
import type { IpReputation, ProviderEvidence } from "../result.js";
import { classifyIp } from "../special-addresses.js";
import { internalReputation, publicReputation } from "../verdict.js";
import { failure, isAnswer, isNegative, type PublicIp, type ReputationProvider } from "./provider.js";

export interface EnrichOptions {
  /** The caller's clock (epoch ms): cache expiry, cool-downs, list refreshes. */
  readonly nowMs: number;
  /** Per provider call. @default 3000 */
  readonly timeoutMs?: number;
  /** Provider calls in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Public addresses looked up per call; the rest get `skipped` evidence. @default 32 */
  readonly maxIps?: number;
  /** Cache failures and dropped inputs, for the caller's log. */
  readonly onWarning?: (message: string, cause?: unknown) => void;
}

/** What the cache keeps of an answer (everything but provider, reason and the cached flag). */
const CachedEvidence = z.object({
  status: z.enum(["listed", "not_listed", "found", "not_found"]),
  verdict: z.enum(["malicious", "suspicious", "benign", "unknown"]),
  score: z.number().min(0).max(100).nullable(),
  detail: z.string().max(1000).nullable(),
});

/**
 * The reputation of each distinct address in `ips`, in first-seen order. Strings that are not
 * addresses are left out (reported through `onWarning`); internal ones are answered "internal".
 */
export async function enrichIps(
  ips: readonly string[],
  providers: readonly ReputationProvider[],
  cache: ReputationCache | null,
  options: EnrichOptions,
): Promise<IpReputation[]> {
  const { nowMs } = options;
  const timeoutMs = options.timeoutMs ?? 3000;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const maxIps = options.maxIps ?? 32;
  const warn = (message: string, cause?: unknown): void => {
    try {
      options.onWarning?.(message, cause);
    } catch {
      // A logging callback must not break triage either.
    }
  };

  type Slot = { readonly ip: string; readonly internal: true } | { readonly ip: PublicIp; readonly internal: false; readonly evidence: ProviderEvidence[] };
  const slots: Slot[] = [];
  const seen = new Set<string>();
  let publicCount = 0;
  for (const input of ips) {
    const c = classifyIp(input);
    if (!c.valid) {
      warn(`not an IP address, not looked up: ${c.reason}`);
      continue;
    }
    if (seen.has(c.ip)) continue;
    seen.add(c.ip);
    if (c.internal) slots.push({ ip: c.ip, internal: true });
    else {
      slots.push({ ip: c.ip as PublicIp, internal: false, evidence: new Array<ProviderEvidence>(providers.length) });
      publicCount++;
    }
  }

  // One task per (public IP, provider); the first `maxIps` public addresses only.
  const tasks: { slot: Extract<Slot, { internal: false }>; index: number }[] = [];
  let looked = 0;
  for (const slot of slots) {
    if (slot.internal) continue;
    if (looked++ >= maxIps) {
      providers.forEach((p, i) => (slot.evidence[i] = failure(p.name, "skipped", `more than ${maxIps} public addresses in one alert`)));
      continue;
    }
    providers.forEach((_, i) => tasks.push({ slot, index: i }));
  }
  if (publicCount > maxIps) warn(`${publicCount - maxIps} public addresses beyond the limit of ${maxIps} were not looked up`);

  const writes: ReputationCacheWrite[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const { slot, index } = tasks[next++]!;
      const provider = providers[index]!;
      slot.evidence[index] = await lookupOne(provider, slot.ip);
    }
  };

  const lookupOne = async (provider: ReputationProvider, ip: PublicIp): Promise<ProviderEvidence> => {
    if (cache && provider.cacheable) {
      try {
        const hit = await cache.get(provider.name, ip, { nowMs });
        if (hit) {
          const data = CachedEvidence.safeParse(hit.data);
          if (data.success) return { provider: provider.name, ...data.data, reason: null, cached: true };
          warn(`unreadable reputation cache record for ${provider.name}/${ip}; looking it up again`);
        }
      } catch (err) {
        warn(`reputation cache read failed for ${provider.name}/${ip}: ${(err as Error).message}`, err);
      }
    }
    const evidence = await callWithTimeout(provider, ip, nowMs, timeoutMs);
    if (cache && provider.cacheable && isAnswer(evidence.status) && evidence.verdict !== "internal") {
      writes.push({
        provider: provider.name,
        ip,
        outcome: isNegative(evidence.status) ? "negative" : "positive",
        data: { status: evidence.status, verdict: evidence.verdict, score: evidence.score, detail: evidence.detail },
      });
    }
    return evidence;
  };

  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));

  if (cache && writes.length > 0) {
    try {
      const r = await cache.put(writes, { nowMs });
      if (r.unprocessed > 0) warn(`${r.unprocessed} reputation cache writes failed`);
    } catch (err) {
      warn(`reputation cache write failed: ${(err as Error).message}`, err);
    }
  }

  return slots.map((slot) => (slot.internal ? internalReputation(slot.ip) : publicReputation(slot.ip, slot.evidence)));
}

/**
 * One provider call, bounded by `timeoutMs` even if the provider ignores its signal; a rejection
 * (a provider breaking its contract) becomes error evidence too.
 */
async function callWithTimeout(provider: ReputationProvider, ip: PublicIp, nowMs: number, timeoutMs: number): Promise<ProviderEvidence> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ProviderEvidence>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
      resolve(failure(provider.name, "error", `timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const call = Promise.resolve()
    .then(() => provider.lookup(ip, { signal: controller.signal, nowMs }))
    .catch((err: unknown) => failure(provider.name, "error", `provider failed: ${err instanceof Error ? err.message : String(err)}`));
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
