/**
 * Alert -> triage result -> Slack card, end to end in the library: the seed rule's own guide,
 * reputation from a real HTTP provider on 127.0.0.1 (healthy, then down), the in-memory cache.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSlackCard } from "../lib/deliver/slack-card.js";
import { detectBatch } from "../lib/detect/engine.js";
import { loadDetectionRules } from "../lib/detect/load-rules.js";
import type { Alert } from "../lib/detect/alert.js";
import { loadRules } from "../lib/rules/load.js";
import { MemoryItemStore } from "../lib/store/memory.js";
import { reputationCache } from "../lib/store/reputation-cache.js";
import { buildTriageResult, ruleContexts, type RuleContext } from "../lib/triage/build.js";
import { abuseIpDbProvider } from "../lib/triage/reputation/abuseipdb.js";
import { accepted } from "./helpers/detect-harness.js";
import { seedAttack } from "./helpers/seed-attack.js";

const RULES = path.join(import.meta.dirname, "../rules");
let server: Server;
let base: string;
let mode: "ok" | "down" = "ok";
let calls = 0;
let alert: Alert;
let rule: RuleContext;

beforeAll(async () => {
  server = createServer((req, res) => {
    calls++;
    if (mode === "down") {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ detail: "Service unavailable", status: 503 }] }));
      return;
    }
    const ip = new URL(req.url ?? "/", "http://x").searchParams.get("ipAddress");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: { ipAddress: ip, isPublic: true, abuseConfidenceScore: 96, countryCode: "DE", usageType: "Data Center/Web Hosting/Transit", isp: "x", domain: "x", isTor: true, totalReports: 812, numDistinctUsers: 200, lastReportedAt: "2026-11-28T10:00:00+00:00" } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const events = seedAttack({ idPrefix: "b", start: "2026-11-20T10:00:00.000Z" });
  (events[1] as { destination: { ip: string } }).destination.ip = "185.220.101.45";
  const rules = (await loadDetectionRules([RULES])).rules;
  const out = await detectBatch({ store: new MemoryItemStore(), rules }, events.map((e) => accepted(e)), Date.parse("2026-11-20T10:01:00Z"));
  alert = out.alerts[0]!;
  rule = ruleContexts((await loadRules([RULES])).flatMap((r) => (r.success ? [r.rule] : []))).get(alert.rule.id)!;
});

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe("buildTriageResult", () => {
  it("gives the seed rule's six investigation steps, observables, the remote IP's reputation and a summary line", async () => {
    const provider = abuseIpDbProvider({ apiKey: "k", baseUrl: base });
    const result = await buildTriageResult(alert, rule, { providers: [provider], cache: null, nowMs: Date.parse("2026-11-20T10:01:00Z") });
    expect(result.version).toBe(1);
    const steps = result.guide!.sections.find((s) => s.kind === "investigation")!.blocks.find((b) => b.type === "list");
    expect(steps?.type === "list" ? steps.items.length : 0).toBe(6);
    expect(result.observables.find((o) => o.type === "ip" && o.value === "185.220.101.45")?.role).toBe("remote");
    // The source address 10.20.30.40 is internal: classified, never sent.
    expect(result.reputation.find((r) => r.ip === "10.20.30.40")?.verdict ?? "internal").toBe("internal");
    expect(result.reputation.find((r) => r.ip === "185.220.101.45")?.verdict).toBe("malicious");
    expect(result.verdict.verdict).toBe("malicious");
    expect(result.summary).toBe("Potential Remote File Execution via MSIEXEC on WIN-FIN-07 by CORP\\jdoe: remote 185.220.101.45 malicious");
  });

  it("a provider outage still gives a card, with the verdict unknown and the reason", async () => {
    mode = "down";
    try {
      const provider = abuseIpDbProvider({ apiKey: "k", baseUrl: base });
      const result = await buildTriageResult(alert, rule, { providers: [provider], cache: reputationCache(new MemoryItemStore()), nowMs: Date.parse("2026-11-20T10:01:00Z"), timeoutMs: 2000 });
      const rep = result.reputation.find((r) => r.ip === "185.220.101.45")!;
      expect(rep.verdict).toBe("unknown");
      expect(rep.evidence[0]?.status).toBe("error");
      expect(rep.evidence[0]?.reason).toMatch(/503/);
      expect(result.verdict.verdict).toBe("unknown");
      const card = JSON.stringify(buildSlackCard(result));
      expect(card).toContain("185.220.101.45");
      expect(card).toMatch(/unknown/i);
    } finally {
      mode = "ok";
    }
  });

  it("caches provider answers: a second triage of the alert asks nobody", async () => {
    const cache = reputationCache(new MemoryItemStore());
    const provider = abuseIpDbProvider({ apiKey: "k", baseUrl: base });
    const nowMs = Date.parse("2026-11-20T10:01:00Z");
    await buildTriageResult(alert, rule, { providers: [provider], cache, nowMs });
    const before = calls;
    const again = await buildTriageResult(alert, rule, { providers: [provider], cache, nowMs: nowMs + 60_000 });
    expect(calls).toBe(before);
    expect(again.reputation.find((r) => r.ip === "185.220.101.45")?.evidence[0]?.cached).toBe(true);
  });

  it("an alert of a rule without a guide still triages", async () => {
    const result = await buildTriageResult(alert, null, { providers: [], cache: null, nowMs: 0 });
    expect(result.guide).toBeNull();
    expect(result.queries).toEqual([]);
    expect(result.verdict.verdict).toBe("unknown");
  });
});
