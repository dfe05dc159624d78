import type { Alert } from "../detect/alert.js";
import { parseGuide } from "../rules/guide.js";
import type { RuleTransform } from "../rules/model.js";
import type { ReputationCache } from "../store/reputation-cache.js";
import { extractObservables, remoteIps } from "./observables.js";
import { resolveGuideQueries } from "./queries.js";
import { enrichIps } from "./reputation/enrich.js";
import type { ReputationProvider } from "./reputation/provider.js";
import { TRIAGE_RESULT_VERSION, type IpReputation, type Observable, type TriageResult, type Verdict } from "./result.js";
import { alertVerdict } from "./verdict.js";

/**
 * Alert -> triage result: the rule's guide as steps with its queries resolved from the alert's
 * events, the observables, the reputation of the remote IPs, and a verdict. Never fails for a
 * provider: every provider failure is evidence ("unknown" with the reason), so the card always
 * goes out.
 */

/** What triage needs of the rule beyond the alert (the rule TOML's `note`, `[transform]`, ...). */
export interface RuleContext {
  readonly note?: string | undefined;
  readonly transform?: RuleTransform | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly references?: readonly string[] | undefined;
  readonly description?: string | undefined;
}

export interface TriageDeps {
  readonly providers: readonly ReputationProvider[];
  readonly cache: ReputationCache | null;
  /** The caller's clock (epoch ms). */
  readonly nowMs: number;
  /** Per provider call. @default 3000 */
  readonly timeoutMs?: number;
  readonly onWarning?: (message: string, cause?: unknown) => void;
}

export async function buildTriageResult(alert: Alert, rule: RuleContext | null, deps: TriageDeps): Promise<TriageResult> {
  const parsed = rule?.note ? parseGuide(rule.note) : null;
  const resolved = parsed ? resolveGuideQueries(parsed, rule?.transform, alert.events) : null;
  const observables = extractObservables(alert);
  const reputation = await enrichIps(remoteIps(observables), deps.providers, deps.cache, {
    nowMs: deps.nowMs,
    ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
    ...(deps.onWarning ? { onWarning: deps.onWarning } : {}),
  });
  const verdict = alertVerdict(reputation);
  return {
    version: TRIAGE_RESULT_VERSION,
    alertId: alert.id,
    status: alert.status,
    triagedAt: new Date(deps.nowMs).toISOString(),
    alert,
    rule: { tags: [...(rule?.tags ?? [])], references: [...(rule?.references ?? [])], description: rule?.description ?? null },
    summary: summaryLine(alert, observables, reputation, verdict.verdict),
    guide: resolved?.guide ?? null,
    queries: resolved?.queries ?? [],
    observables,
    reputation,
    verdict,
  };
}

const SEVERITY_WORD: Readonly<Record<Verdict, string>> = {
  malicious: "malicious", suspicious: "suspicious", benign: "benign", unknown: "unknown reputation", internal: "internal only",
};

/** "Rule name on HOST by user: remote 203.0.113.7 malicious" (raw text; renderers escape). */
function summaryLine(alert: Alert, observables: readonly Observable[], reputation: readonly IpReputation[], verdict: Verdict): string {
  const first = (type: Observable["type"]) => observables.find((o) => o.type === type)?.value;
  const host = first("host");
  const user = first("user");
  const worst = reputation.find((r) => r.verdict === verdict && r.verdict !== "internal");
  const parts = [alert.rule.name];
  if (host) parts.push(`on ${host}`);
  if (user) parts.push(`by ${user}`);
  let line = parts.join(" ");
  if (reputation.length > 0) line += worst ? `: remote ${worst.ip} ${SEVERITY_WORD[verdict]}` : `: remote IPs ${SEVERITY_WORD[verdict]}`;
  if (alert.status === "retracted") line = `[retracted] ${line}`;
  return line.length > 300 ? line.slice(0, 299) + "…" : line;
}

/** The rule context of each loaded rule, by rule id. */
export function ruleContexts(loaded: readonly { readonly rule: { readonly rule_id: string; readonly note?: string | undefined; readonly tags?: readonly string[] | undefined; readonly references?: readonly string[] | undefined; readonly description?: string | undefined }; readonly transform: RuleTransform | undefined }[]): Map<string, RuleContext> {
  const out = new Map<string, RuleContext>();
  for (const l of loaded) {
    out.set(l.rule.rule_id, { note: l.rule.note, transform: l.transform, tags: l.rule.tags, references: l.rule.references, description: l.rule.description });
  }
  return out;
}
