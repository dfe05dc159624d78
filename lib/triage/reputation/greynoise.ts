/**
 * GreyNoise Community API (https://docs.greynoise.io/reference/get_v3-community-ip):
 * `GET /v3/community/{ip}`, key in the `key` header; keyless use is allowed with a lower limit.
 *
 * Verdict: classification "malicious" is malicious (90); "benign" or a RIOT hit (a known business
 * service) is benign (0); an address seen scanning the internet with unknown intent is suspicious
 * (40): an opportunistic scanner is not what an internal process should talk to. Anything else is
 * unknown. 404 "IP not observed scanning the internet or contained in RIOT data set" is the
 * negative answer `not_found`, but only when the body is GreyNoise's JSON (a 404 from a proxy or a
 * wrong base URL must not be cached as "nothing known").
 *
 * Failure modes: 401 cools the provider down for `badKeyCooldownMs`; 429 cools it down until
 * `Retry-After`, or until the next UTC midnight when the message speaks of a daily limit (the
 * community plan's quota is per day), or for `defaultRetryAfterMs`.
 */
import * as z from "zod";
import type { ProviderEvidence } from "../result.js";
import { toPublicIp, answer, checkProviderName, failure, type LookupContext, type PublicIp, type ReputationProvider } from "./provider.js";
import { createCooldown, describeCooldown, nextUtcMidnight, retryAfterMs, type Cooldown } from "./cooldown.js";
import { checkBaseUrl, httpGet, parseJson } from "./http.js";

export const GREYNOISE_BASE_URL = "https://api.greynoise.io";

export interface GreyNoiseOptions {
  /** null or undefined: keyless community use. */
  readonly apiKey?: string | null;
  /** @default "https://api.greynoise.io" */
  readonly baseUrl?: string;
  /** @default "greynoise" */
  readonly name?: string;
  /** @default a fresh cool-down */
  readonly cooldown?: Cooldown;
  /** @default 15 minutes */
  readonly badKeyCooldownMs?: number;
  /** A 429 without Retry-After that does not mention a daily limit. @default 60 s */
  readonly defaultRetryAfterMs?: number;
}

const optionalText = z.string().nullable().optional();
const CommunityResponse = z.object({
  ip: z.string(),
  noise: z.boolean(),
  riot: z.boolean(),
  classification: z.string().optional(),
  name: optionalText,
  link: optionalText,
  last_seen: optionalText,
  message: optionalText,
});
const NotObserved = z.object({ message: z.string(), noise: z.boolean().optional(), riot: z.boolean().optional() });
const MessageOnly = z.object({ message: z.string() });

export function greyNoiseProvider(options: GreyNoiseOptions = {}): ReputationProvider {
  const name = checkProviderName(options.name ?? "greynoise");
  const base = checkBaseUrl(options.baseUrl ?? GREYNOISE_BASE_URL, "GreyNoise");
  const cooldown = options.cooldown ?? createCooldown();
  const badKeyMs = options.badKeyCooldownMs ?? 15 * 60_000;
  const retryMs = options.defaultRetryAfterMs ?? 60_000;
  const key = options.apiKey?.trim();
  const headers: Record<string, string> = { Accept: "application/json", ...(key ? { key } : {}) };

  return {
    name,
    cacheable: true,
    async lookup(ip: PublicIp, { signal, nowMs }: LookupContext): Promise<ProviderEvidence> {
      const cooling = cooldown.active(nowMs);
      if (cooling) return failure(name, "cooldown", describeCooldown(cooling));
      if (toPublicIp(ip) !== ip) return failure(name, "skipped", "not a canonical public address");
      const r = await httpGet(`${base}/v3/community/${encodeURIComponent(ip)}`, headers, signal);
      if (r.kind === "failed") return failure(name, "error", r.reason);
      const parsed = parseJson(r.text);
      const message = parsed.ok ? MessageOnly.safeParse(parsed.value) : null;
      const said = message?.success ? `: ${message.data.message.slice(0, 200)}` : "";
      if (r.status === 200) {
        if (!parsed.ok) return failure(name, "error", "malformed response: not JSON");
        const body = CommunityResponse.safeParse(parsed.value);
        if (!body.success) return failure(name, "error", `malformed response: ${z.prettifyError(body.error).replace(/\s+/g, " ")}`);
        if (toPublicIp(body.data.ip) !== ip) return failure(name, "error", "malformed response: the answer is about a different address");
        return interpret(name, body.data);
      }
      if (r.status === 404) {
        const body = parsed.ok ? NotObserved.safeParse(parsed.value) : null;
        if (!body?.success) return failure(name, "error", "unexpected HTTP 404 (not a GreyNoise answer)");
        return answer(name, "not_found", "unknown", null, "not observed scanning the internet, not in RIOT");
      }
      if (r.status === 401 || r.status === 403) {
        const state = cooldown.trip(nowMs, nowMs + badKeyMs, `API key rejected (HTTP ${r.status})`);
        return failure(name, "error", `API key rejected (HTTP ${r.status})${said}; ${describeCooldown(state)}`);
      }
      if (r.status === 429) {
        const daily = /daily|per day|\/day|24 ?h/i.test(said);
        const after = retryAfterMs(r.headers.get("retry-after"), nowMs);
        const until = Math.max(after ?? 0, daily ? nextUtcMidnight(nowMs) : 0, after === null && !daily ? nowMs + retryMs : 0);
        const state = cooldown.trip(nowMs, until, `${daily ? "daily limit reached" : "rate limited"} (HTTP 429)${said}`);
        return failure(name, "cooldown", describeCooldown(state));
      }
      if (r.status === 400) return failure(name, "error", `request rejected (HTTP 400)${said}`);
      if (r.status >= 500) return failure(name, "error", `server error (HTTP ${r.status})${said}`);
      return failure(name, "error", `unexpected HTTP ${r.status}${said}`);
    },
  };
}

function interpret(name: string, d: z.infer<typeof CommunityResponse>): ProviderEvidence {
  const who = d.name && d.name !== "unknown" ? ` (${d.name})` : "";
  const seen = d.last_seen ? `, last seen ${d.last_seen}` : "";
  if (d.classification === "malicious") return answer(name, "found", "malicious", 90, `classified malicious${who}${d.noise ? ", scanning the internet" : ""}${seen}`);
  if (d.riot) return answer(name, "found", "benign", 0, `common business service (RIOT)${who}${seen}`);
  if (d.classification === "benign") return answer(name, "found", "benign", 0, `classified benign${who}${seen}`);
  if (d.noise) return answer(name, "found", "suspicious", 40, `scanning the internet, intent unknown${who}${seen}`);
  return answer(name, "found", "unknown", null, `known to GreyNoise, classification ${d.classification ?? "none"}${who}${seen}`);
}
