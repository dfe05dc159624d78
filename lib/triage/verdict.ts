/**
 * Verdicts per IP and per alert, from the providers' evidence.
 *
 * Scores are 0..100 risk, in bands that match the verdicts: malicious >= 75, suspicious 25..74,
 * below 25 benign or unknown. Each provider maps its own scale onto these bands.
 *
 * Per IP (providers disagree): the worst verdict wins, in the order
 *   malicious > suspicious > benign > unknown.
 * One provider that knows the address as benign (GreyNoise RIOT, an AbuseIPDB whitelist) beats
 * providers that know nothing, but never a provider that reports abuse: a popular cloud address
 * can still be listed in DROP. Failures (error, cooldown, skipped) carry "unknown" and so never
 * lower a verdict another provider gave. The score is the highest score among the evidence with
 * the winning verdict (its band's default when those have none). Internal addresses get
 * "internal" without asking anyone.
 *
 * Per alert (several remote IPs): the worst IP decides, in the order
 *   malicious > suspicious > unknown > benign > internal,
 * so one unexplained address keeps an alert "unknown" even when the others are benign, and an
 * alert whose remote addresses are all special-purpose is "internal". An alert without any
 * remote IP is "unknown". The reasons list the addresses behind the verdict, worst first.
 */
import type { IpReputation, ProviderEvidence, TriageResult, Verdict } from "./result.js";

export const MALICIOUS_FLOOR = 75;
export const SUSPICIOUS_FLOOR = 25;
/** At most this many reasons on an alert verdict. */
export const MAX_REASONS = 10;

export type AlertVerdict = TriageResult["verdict"];

/** Rank of a verdict among one IP's evidence (higher wins). */
function evidenceRank(v: Verdict): number {
  switch (v) {
    case "malicious":
      return 4;
    case "suspicious":
      return 3;
    case "benign":
      return 2;
    case "unknown":
      return 1;
    case "internal":
      return 0; // a provider never says "internal"; ranked lowest should one ever do
    default: {
      const never: never = v;
      throw new Error(`unknown verdict ${String(never)}`);
    }
  }
}

/** Rank of an IP's verdict within an alert (higher wins). */
function alertRank(v: Verdict): number {
  switch (v) {
    case "malicious":
      return 4;
    case "suspicious":
      return 3;
    case "unknown":
      return 2;
    case "benign":
      return 1;
    case "internal":
      return 0;
    default: {
      const never: never = v;
      throw new Error(`unknown verdict ${String(never)}`);
    }
  }
}

/** The score a verdict has when its evidence gives none. */
export function defaultScore(v: Verdict): number {
  switch (v) {
    case "malicious":
      return 90;
    case "suspicious":
      return 50;
    case "benign":
    case "unknown":
    case "internal":
      return 0;
    default: {
      const never: never = v;
      throw new Error(`unknown verdict ${String(never)}`);
    }
  }
}

function clampScore(n: number): number {
  return Number.isFinite(n) ? Math.min(100, Math.max(0, Math.round(n))) : 0;
}

/** The verdict and score of a public IP from its providers' evidence. */
export function ipVerdict(evidence: readonly ProviderEvidence[]): { readonly verdict: Verdict; readonly score: number } {
  let verdict: Verdict = "unknown";
  for (const e of evidence) if (evidenceRank(e.verdict) > evidenceRank(verdict)) verdict = e.verdict;
  if (verdict === "internal") verdict = "unknown";
  let score: number | null = null;
  for (const e of evidence) {
    if (e.verdict === verdict && e.score !== null) score = Math.max(score ?? 0, clampScore(e.score));
  }
  return { verdict, score: score ?? defaultScore(verdict) };
}

/** The reputation of a public IP. */
export function publicReputation(ip: string, evidence: readonly ProviderEvidence[]): IpReputation {
  return { ip, ...ipVerdict(evidence), evidence };
}

/** The reputation of a special-purpose address: never looked up. */
export function internalReputation(ip: string): IpReputation {
  return { ip, verdict: "internal", score: 0, evidence: [] };
}

/** The alert's verdict from the reputations of its remote IPs. */
export function alertVerdict(reputations: readonly IpReputation[]): AlertVerdict {
  if (reputations.length === 0) return { verdict: "unknown", score: 0, reasons: ["no remote IP address in the alert's events"] };
  const ranked = [...reputations].sort((a, b) => alertRank(b.verdict) - alertRank(a.verdict) || b.score - a.score);
  const worst = ranked[0]!;
  const reasons: string[] = [];
  for (const r of ranked) {
    if (reasons.length === MAX_REASONS) {
      reasons.push(`and ${ranked.length - MAX_REASONS} more address${ranked.length - MAX_REASONS === 1 ? "" : "es"}`);
      break;
    }
    reasons.push(reasonFor(r));
  }
  const score = worst.verdict === "internal" ? 0 : Math.max(...reputations.filter((r) => r.verdict !== "internal").map((r) => r.score));
  return { verdict: worst.verdict, score, reasons };
}

function reasonFor(r: IpReputation): string {
  if (r.verdict === "internal") return `${r.ip}: internal (special-purpose address, not looked up)`;
  const deciding = r.evidence.filter((e) => e.verdict === r.verdict && e.detail !== null);
  const shown = deciding.length > 0 && r.verdict !== "unknown"
    ? deciding.map((e) => `${e.provider}: ${e.detail}`)
    : r.evidence.map((e) => `${e.provider}: ${e.reason ?? e.detail ?? e.status.replace("_", " ")}`);
  return `${r.ip}: ${r.verdict} (score ${r.score})${shown.length > 0 ? ` - ${shown.join("; ")}` : " - no provider configured"}`;
}
