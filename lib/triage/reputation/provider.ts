/**
 * The reputation provider port. Every provider (offline lists, AbuseIPDB, GreyNoise, ...) answers
 * one public IP at a time with one piece of evidence, and never throws or rejects: a failure is
 * evidence with status `error` (or `cooldown`) and a reason, so a broken provider can degrade a
 * verdict to "unknown" but never fail triage.
 *
 * Providers only ever receive a `PublicIp`: a canonical, valid, not special-purpose address as
 * produced by `toPublicIp`. The brand makes "an event string reached a provider URL" a type
 * error, and HTTP providers check again at run time before building a URL.
 */
import type { EvidenceStatus, ProviderEvidence, Verdict } from "../result.js";
import { classifyIp } from "../special-addresses.js";

declare const publicIpBrand: unique symbol;
/** A canonical, public (not special-purpose) IP address. */
export type PublicIp = string & { readonly [publicIpBrand]: true };

/** The canonical public address of an input, or null when it is invalid or special-purpose. */
export function toPublicIp(input: unknown): PublicIp | null {
  const c = classifyIp(input);
  return c.valid && !c.internal ? (c.ip as PublicIp) : null;
}

export interface LookupContext {
  /** Aborted when the caller's per-call timeout passes; providers pass it to their requests. */
  readonly signal: AbortSignal;
  /** The caller's clock (epoch ms), for cool-downs and list refreshes. */
  readonly nowMs: number;
}

export interface ReputationProvider {
  /** Lower-case name, also the cache key part (`rep#<name>#<ip>`). */
  readonly name: string;
  /**
   * Whether answers go to the shared reputation cache: remote APIs yes (calls cost quota and
   * time); local lists no (a lookup is a binary search and they refresh themselves).
   */
  readonly cacheable: boolean;
  /** Never rejects. */
  lookup(ip: PublicIp, context: LookupContext): Promise<ProviderEvidence>;
}

export const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function checkProviderName(name: string): string {
  if (!PROVIDER_NAME.test(name)) throw new Error(`provider name ${JSON.stringify(name)} must match ${PROVIDER_NAME}`);
  return name;
}

/** Statuses that are answers (cacheable) rather than failures. */
export type AnswerStatus = Extract<EvidenceStatus, "listed" | "not_listed" | "found" | "not_found">;
export type FailureStatus = Extract<EvidenceStatus, "error" | "cooldown" | "skipped">;

export function isAnswer(status: EvidenceStatus): status is AnswerStatus {
  switch (status) {
    case "listed":
    case "not_listed":
    case "found":
    case "not_found":
      return true;
    case "error":
    case "cooldown":
    case "skipped":
      return false;
    default: {
      const never: never = status;
      throw new Error(`unknown evidence status ${String(never)}`);
    }
  }
}

/** Whether an answer says "nothing known" (cached with the shorter negative TTL). */
export function isNegative(status: AnswerStatus): boolean {
  return status === "not_listed" || status === "not_found";
}

/** Longest `detail` or `reason` kept: they come partly from third parties and end up in cards. */
export const MAX_TEXT = 300;

export function clipText(s: string): string {
  return s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT - 1)}…`;
}

export function answer(provider: string, status: AnswerStatus, verdict: Verdict, score: number | null, detail: string | null): ProviderEvidence {
  return { provider, status, verdict, score, detail: detail === null ? null : clipText(detail), reason: null, cached: false };
}

export function failure(provider: string, status: FailureStatus, reason: string): ProviderEvidence {
  return { provider, status, verdict: "unknown", score: null, detail: null, reason: clipText(reason), cached: false };
}
