import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvidenceStatus, IpReputation, ProviderEvidence, Verdict } from "../lib/triage/result.js";
import { alertVerdict, internalReputation, ipVerdict, MAX_REASONS, publicReputation } from "../lib/triage/verdict.js";

const ev = (provider: string, status: EvidenceStatus, verdict: Verdict, score: number | null, detail: string | null = null, reason: string | null = null): ProviderEvidence =>
  ({ provider, status, verdict, score, detail, reason, cached: false });

const drop = ev("lists", "listed", "malicious", 90, "listed in spamhaus-drop (1.10.16.0/20, SBL256894)");
const abuseHigh = ev("abuseipdb", "found", "malicious", 100, "abuse confidence 100%");
const abuseMid = ev("abuseipdb", "found", "suspicious", 40, "abuse confidence 40%");
const abuseNone = ev("abuseipdb", "not_found", "unknown", 0, "abuse confidence 0%; no reports");
const riot = ev("greynoise", "found", "benign", 0, "common business service (RIOT) (Google Public DNS)");
const gnScanner = ev("greynoise", "found", "suspicious", 40, "scanning the internet, intent unknown");
const gnMissing = ev("greynoise", "not_found", "unknown", null, "not observed scanning the internet, not in RIOT");
const timeout = ev("greynoise", "error", "unknown", null, null, "timed out after 3000 ms");
const cooling = ev("abuseipdb", "cooldown", "unknown", null, null, "cooling down until 2024-05-01T14:00:00.000Z: daily quota exhausted (HTTP 429)");

describe("ipVerdict: the worst provider verdict wins (malicious > suspicious > benign > unknown)", () => {
  const cases: readonly (readonly [string, readonly ProviderEvidence[], Verdict, number])[] = [
    ["no evidence", [], "unknown", 0],
    ["only failures", [timeout, cooling], "unknown", 0],
    ["nothing known", [abuseNone, gnMissing], "unknown", 0],
    ["one list hit beats a clean answer", [drop, abuseNone], "malicious", 90],
    ["the highest score among the winning verdict", [drop, abuseHigh], "malicious", 100],
    ["malicious beats benign (a popular address can be in DROP)", [riot, drop], "malicious", 90],
    ["suspicious beats benign", [riot, gnScanner], "suspicious", 40],
    ["suspicious: the higher of two", [abuseMid, gnScanner], "suspicious", 40],
    ["benign beats knowing nothing", [riot, abuseNone], "benign", 0],
    ["benign beats failures", [riot, timeout], "benign", 0],
    ["failures never lower a verdict", [drop, timeout, cooling], "malicious", 90],
    ["a verdict without a score takes its band's default", [ev("x", "listed", "malicious", null)], "malicious", 90],
    ["scores are clamped", [ev("x", "found", "suspicious", 250)], "suspicious", 100],
  ];
  for (const [name, evidence, verdict, score] of cases) {
    it(name, () => expect(ipVerdict(evidence)).toEqual({ verdict, score }));
  }

  it("order of evidence never matters (fast-check)", () => {
    const pool = [drop, abuseHigh, abuseMid, abuseNone, riot, gnScanner, gnMissing, timeout, cooling];
    fc.assert(fc.property(fc.shuffledSubarray(pool), (evidence) => {
      expect(ipVerdict(evidence)).toEqual(ipVerdict([...evidence].reverse()));
    }), { numRuns: 300 });
  });
});

describe("alertVerdict: the worst remote IP decides (malicious > suspicious > unknown > benign > internal)", () => {
  const bad = publicReputation("185.220.101.1", [drop, abuseHigh]);
  const scanner = publicReputation("45.83.66.1", [gnScanner, abuseNone]);
  const google = publicReputation("8.8.8.8", [riot, abuseNone]);
  const unexplained = publicReputation("9.9.9.9", [timeout, cooling]);
  const lan = internalReputation("10.0.0.5");

  it("malicious, with reasons worst first naming the providers' evidence", () => {
    expect(alertVerdict([google, lan, bad, scanner])).toEqual({
      verdict: "malicious",
      score: 100,
      reasons: [
        "185.220.101.1: malicious (score 100) - lists: listed in spamhaus-drop (1.10.16.0/20, SBL256894); abuseipdb: abuse confidence 100%",
        "45.83.66.1: suspicious (score 40) - greynoise: scanning the internet, intent unknown",
        "8.8.8.8: benign (score 0) - greynoise: common business service (RIOT) (Google Public DNS)",
        "10.0.0.5: internal (special-purpose address, not looked up)",
      ],
    });
  });

  it("one unexplained address keeps the alert unknown, and says why", () => {
    expect(alertVerdict([google, unexplained])).toEqual({
      verdict: "unknown",
      score: 0,
      reasons: [
        "9.9.9.9: unknown (score 0) - greynoise: timed out after 3000 ms; abuseipdb: cooling down until 2024-05-01T14:00:00.000Z: daily quota exhausted (HTTP 429)",
        "8.8.8.8: benign (score 0) - greynoise: common business service (RIOT) (Google Public DNS)",
      ],
    });
    expect(alertVerdict([publicReputation("1.1.1.1", [])]).reasons).toEqual(["1.1.1.1: unknown (score 0) - no provider configured"]);
    expect(alertVerdict([publicReputation("1.1.1.1", [gnMissing])]).reasons).toEqual(["1.1.1.1: unknown (score 0) - greynoise: not observed scanning the internet, not in RIOT"]);
  });

  it("all benign is benign; internal-only is internal; no remote IP is unknown", () => {
    expect(alertVerdict([google, lan])).toMatchObject({ verdict: "benign", score: 0 });
    expect(alertVerdict([lan, internalReputation("fe80::1")])).toEqual({
      verdict: "internal", score: 0,
      reasons: ["10.0.0.5: internal (special-purpose address, not looked up)", "fe80::1: internal (special-purpose address, not looked up)"],
    });
    expect(alertVerdict([])).toEqual({ verdict: "unknown", score: 0, reasons: ["no remote IP address in the alert's events"] });
  });

  it("caps the reasons", () => {
    const many: IpReputation[] = Array.from({ length: 25 }, (_, i) => publicReputation(`8.8.${i}.1`, [gnScanner]));
    const v = alertVerdict(many);
    expect(v.reasons).toHaveLength(MAX_REASONS + 1);
    expect(v.reasons.at(-1)).toBe("and 15 more addresses");
  });

  it("the alert is never better than its worst non-internal address (fast-check)", () => {
    const rank: Record<Verdict, number> = { malicious: 4, suspicious: 3, unknown: 2, benign: 1, internal: 0 };
    const rep = fc.constantFrom(bad, scanner, google, unexplained, lan);
    fc.assert(fc.property(fc.array(rep, { minLength: 1, maxLength: 8 }), (reps) => {
      const v = alertVerdict(reps);
      expect(rank[v.verdict]).toBe(Math.max(...reps.map((r) => rank[r.verdict])));
      expect(v.score).toBe(Math.max(0, ...reps.filter((r) => r.verdict !== "internal").map((r) => r.score)));
    }), { numRuns: 300 });
  });
});
