/**
 * AbuseIPDB API v2 `check` endpoint (https://docs.abuseipdb.com/#check-endpoint).
 *
 * Verdict: abuse confidence >= 75 is malicious, >= 25 suspicious; a Tor exit at a lower score is
 * suspicious; a whitelisted address is benign; anything else (including a clean 0 with no
 * reports) is unknown: absence of reports is not evidence of good intent. The score is the abuse
 * confidence (a Tor exit's raised to the suspicious floor). No reports at all is the negative answer `not_found` (cached with the shorter TTL).
 *
 * Failure modes: 401/403 (key rejected) cool the provider down for `badKeyCooldownMs`; 429 cools it
 * down until `Retry-After`, or, when `X-RateLimit-Remaining` is 0 (the daily quota is spent), until
 * `X-RateLimit-Reset`. A 200 that reports the last call of the quota cools down the same way, so
 * the next call is not a guaranteed 429. 422, 5xx, timeouts and malformed bodies are errors for
 * this call only.
 */
import * as z from "zod";
import type { ProviderEvidence } from "../result.js";
import { toPublicIp, answer, checkProviderName, failure, type LookupContext, type PublicIp, type ReputationProvider } from "./provider.js";
import { createCooldown, describeCooldown, retryAfterMs, type Cooldown } from "./cooldown.js";
import { checkBaseUrl, httpGet, parseJson } from "./http.js";
import { SUSPICIOUS_FLOOR } from "../verdict.js";

export const ABUSEIPDB_BASE_URL = "https://api.abuseipdb.com";

export interface AbuseIpDbOptions {
  readonly apiKey: string;
  /** @default "https://api.abuseipdb.com" */
  readonly baseUrl?: string;
  /** @default 90 */
  readonly maxAgeInDays?: number;
  /** @default "abuseipdb" */
  readonly name?: string;
  /** @default a fresh cool-down */
  readonly cooldown?: Cooldown;
  /** How long a rejected key silences the provider. @default 15 minutes */
  readonly badKeyCooldownMs?: number;
  /** A 429 without a usable Retry-After. @default 60 s */
  readonly defaultRetryAfterMs?: number;
  /** An exhausted quota without a usable reset time. @default 1 hour */
  readonly defaultQuotaCooldownMs?: number;
}

const nullableString = z.string().nullable().optional();
const CheckResponse = z.object({
  data: z.object({
    ipAddress: z.string(),
    isPublic: z.boolean().nullable().optional(),
    isWhitelisted: z.boolean().nullable().optional(),
    abuseConfidenceScore: z.number().min(0).max(100),
    countryCode: nullableString,
    usageType: nullableString,
    isp: nullableString,
    domain: nullableString,
    isTor: z.boolean().nullable().optional(),
    totalReports: z.number().int().min(0),
    numDistinctUsers: z.number().int().min(0).nullable().optional(),
    lastReportedAt: nullableString,
  }),
});
type CheckData = z.infer<typeof CheckResponse>["data"];

const ErrorResponse = z.object({ errors: z.array(z.object({ detail: z.string().optional(), status: z.number().optional() })).min(1) });

export function abuseIpDbProvider(options: AbuseIpDbOptions): ReputationProvider {
  if (typeof options.apiKey !== "string" || options.apiKey.trim() === "") throw new Error("AbuseIPDB needs an API key");
  const name = checkProviderName(options.name ?? "abuseipdb");
  const base = checkBaseUrl(options.baseUrl ?? ABUSEIPDB_BASE_URL, "AbuseIPDB");
  const maxAge = options.maxAgeInDays ?? 90;
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 365) throw new Error(`AbuseIPDB maxAgeInDays must be 1..365, got ${maxAge}`);
  const cooldown = options.cooldown ?? createCooldown();
  const badKeyMs = options.badKeyCooldownMs ?? 15 * 60_000;
  const retryMs = options.defaultRetryAfterMs ?? 60_000;
  const quotaMs = options.defaultQuotaCooldownMs ?? 3600_000;
  const headers = { Key: options.apiKey, Accept: "application/json" };

  const quotaUntil = (h: Headers, nowMs: number): number => {
    const reset = h.get("x-ratelimit-reset");
    const resetMs = reset !== null && /^\d{1,12}$/.test(reset.trim()) ? Number(reset.trim()) * 1000 : NaN;
    // An epoch in the next two days is a reset time; anything else is not to be trusted.
    if (resetMs > nowMs && resetMs <= nowMs + 48 * 3600_000) return resetMs;
    return retryAfterMs(h.get("retry-after"), nowMs) ?? nowMs + quotaMs;
  };

  return {
    name,
    cacheable: true,
    async lookup(ip: PublicIp, { signal, nowMs }: LookupContext): Promise<ProviderEvidence> {
      const cooling = cooldown.active(nowMs);
      if (cooling) return failure(name, "cooldown", describeCooldown(cooling));
      // Defence in depth: only a canonical public address ever goes into the URL.
      if (toPublicIp(ip) !== ip) return failure(name, "skipped", "not a canonical public address");
      const url = `${base}/api/v2/check?${new URLSearchParams({ ipAddress: ip, maxAgeInDays: String(maxAge) }).toString()}`;
      const r = await httpGet(url, headers, signal);
      if (r.kind === "failed") return failure(name, "error", r.reason);
      const detail = errorDetail(r.text);
      if (r.status === 200) {
        const parsed = parseJson(r.text);
        if (!parsed.ok) return failure(name, "error", "malformed response: not JSON");
        const body = CheckResponse.safeParse(parsed.value);
        if (!body.success) return failure(name, "error", `malformed response: ${z.prettifyError(body.error).replace(/\s+/g, " ")}`);
        if (r.headers.get("x-ratelimit-remaining")?.trim() === "0") {
          cooldown.trip(nowMs, quotaUntil(r.headers, nowMs), "daily quota exhausted (X-RateLimit-Remaining: 0)");
        }
        // An answer about another address (a proxy or a bug) must not be filed under this one.
        if (toPublicIp(body.data.data.ipAddress) !== ip) return failure(name, "error", "malformed response: the answer is about a different address");
        return interpret(name, body.data.data);
      }
      if (r.status === 401 || r.status === 403) {
        const state = cooldown.trip(nowMs, nowMs + badKeyMs, `API key rejected (HTTP ${r.status})`);
        return failure(name, "error", `API key rejected (HTTP ${r.status})${detail}; ${describeCooldown(state)}`);
      }
      if (r.status === 429) {
        const exhausted = r.headers.get("x-ratelimit-remaining")?.trim() === "0";
        const until = exhausted ? quotaUntil(r.headers, nowMs) : retryAfterMs(r.headers.get("retry-after"), nowMs) ?? nowMs + retryMs;
        const state = cooldown.trip(nowMs, until, exhausted ? `daily quota exhausted (HTTP 429)${detail}` : `rate limited (HTTP 429)${detail}`);
        return failure(name, "cooldown", describeCooldown(state));
      }
      if (r.status === 422) return failure(name, "error", `request rejected (HTTP 422)${detail}`);
      if (r.status >= 500) return failure(name, "error", `server error (HTTP ${r.status})${detail}`);
      return failure(name, "error", `unexpected HTTP ${r.status}${detail}`);
    },
  };
}

function interpret(name: string, d: CheckData): ProviderEvidence {
  const confidence = Math.round(d.abuseConfidenceScore);
  const verdict = confidence >= 75 ? "malicious" : confidence >= 25 ? "suspicious" : d.isTor ? "suspicious" : d.isWhitelisted ? "benign" : "unknown";
  // Tor raises a low score to the floor of "suspicious", so score and verdict agree (lib/triage/verdict.ts).
  const score = verdict === "suspicious" ? Math.max(confidence, SUSPICIOUS_FLOOR) : confidence;
  const parts = [`abuse confidence ${confidence}%`];
  if (d.totalReports > 0) {
    parts.push(`${d.totalReports} report${d.totalReports === 1 ? "" : "s"}${d.numDistinctUsers ? ` from ${d.numDistinctUsers} user${d.numDistinctUsers === 1 ? "" : "s"}` : ""}`);
    if (d.lastReportedAt) parts.push(`last ${d.lastReportedAt}`);
  } else parts.push("no reports");
  if (d.isTor) parts.push("Tor exit");
  if (d.isWhitelisted) parts.push("whitelisted");
  const where = [d.isp, d.usageType, d.countryCode].filter((x): x is string => typeof x === "string" && x !== "");
  if (where.length > 0) parts.push(where.join(", "));
  const status = d.totalReports > 0 || d.isWhitelisted === true ? "found" : "not_found";
  return answer(name, status, verdict, score, parts.join("; "));
}

/** ` ("first error detail")` from an AbuseIPDB error body, or "". */
function errorDetail(text: string): string {
  const parsed = parseJson(text);
  if (!parsed.ok) return "";
  const e = ErrorResponse.safeParse(parsed.value);
  const d = e.success ? e.data.errors[0]?.detail : undefined;
  return d ? `: ${d.slice(0, 200)}` : "";
}
