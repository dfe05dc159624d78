import { describe, expect, it } from "vitest";
import { DEFAULT_ROUTING, parseRoutingConfig, routeAlert, type RoutingConfig } from "../lib/deliver/routing.js";
import type { TriageResult } from "../lib/triage/result.js";
import { seedTriageResult, SEED_ALERT } from "./helpers/triage-fixture.js";

function result(rule: Partial<TriageResult["alert"]["rule"]> = {}, tags?: string[]): TriageResult {
  const base = seedTriageResult();
  return { ...base, alert: { ...SEED_ALERT, rule: { ...SEED_ALERT.rule, ...rule } }, rule: { ...base.rule, tags: tags ?? base.rule.tags } };
}

function config(text: string): RoutingConfig {
  const r = parseRoutingConfig(text);
  if (!r.success) throw new Error(r.error);
  return r.data;
}

describe("routing", () => {
  it("sends every alert everywhere without a configuration", () => {
    expect(parseRoutingConfig(undefined)).toEqual({ success: true, data: DEFAULT_ROUTING });
    expect(parseRoutingConfig("  ")).toEqual({ success: true, data: DEFAULT_ROUTING });
    expect(routeAlert(DEFAULT_ROUTING, result())).toEqual({ outputs: ["slack", "ticket"], by: "default" });
    expect(parseRoutingConfig("{}")).toEqual({ success: true, data: DEFAULT_ROUTING });
  });

  it("never delivers a building-block alert, whatever the routes say", () => {
    const c = config('{"routes":[{"outputs":["slack","ticket"]}],"default":{"outputs":["slack"]}}');
    expect(routeAlert(c, result({ building_block: true }))).toEqual({ outputs: [], by: "building_block" });
    expect(routeAlert(DEFAULT_ROUTING, result({ building_block: true }))).toEqual({ outputs: [], by: "building_block" });
  });

  it("takes the first route whose every condition holds: severity, risk score, tags (any of), rule ids", () => {
    const c = config(JSON.stringify({
      routes: [
        { name: "muted rule", ruleIds: ["muted-rule"], outputs: [] },
        { name: "high and up", minSeverity: "high", outputs: ["slack", "ticket"] },
        { name: "initial access, risky", tags: ["Tactic: Initial Access", "Tactic: Execution"], minRiskScore: 47, outputs: ["slack"] },
        { name: "medium", minSeverity: "medium", minRiskScore: 40, outputs: ["ticket"] },
      ],
      default: { outputs: ["ticket"] },
    }));
    expect(routeAlert(c, result({ id: "muted-rule", severity: "critical" }))).toEqual({ outputs: [], by: "muted rule" });
    expect(routeAlert(c, result({ severity: "critical" }))).toEqual({ outputs: ["slack", "ticket"], by: "high and up" });
    expect(routeAlert(c, result({ severity: "high" }))).toEqual({ outputs: ["slack", "ticket"], by: "high and up" });
    expect(routeAlert(c, result({ severity: "low", risk_score: 47 }))).toEqual({ outputs: ["slack"], by: "initial access, risky" });
    expect(routeAlert(c, result({ severity: "low", risk_score: 46 }))).toEqual({ outputs: ["ticket"], by: "default" });
    expect(routeAlert(c, result({ severity: "low", risk_score: 73 }, ["OS: Windows"]))).toEqual({ outputs: ["ticket"], by: "default" });
    expect(routeAlert(c, result({ severity: "medium", risk_score: 47 }, []))).toEqual({ outputs: ["ticket"], by: "medium" });
    expect(routeAlert(c, result({ severity: "medium", risk_score: 21 }, []))).toEqual({ outputs: ["ticket"], by: "default" });
    // The seed alert: low, risk 21, tagged Initial Access.
    expect(routeAlert(c, seedTriageResult())).toEqual({ outputs: ["ticket"], by: "default" });
  });

  it("names unnamed routes by position, and ranks an unknown severity below low", () => {
    const c = config('{"routes":[{"minSeverity":"low","outputs":["slack"]}],"default":{"outputs":[]}}');
    expect(routeAlert(c, result({ severity: "LOW" }))).toEqual({ outputs: ["slack"], by: "routes[0]" });
    expect(routeAlert(c, result({ severity: "bogus" }))).toEqual({ outputs: [], by: "default" });
  });

  it("explains a bad configuration, naming the field", () => {
    const bad = (text: string): string => {
      const r = parseRoutingConfig(text);
      if (r.success) throw new Error("expected an error");
      return r.error;
    };
    expect(bad("{routes:")).toMatch(/^ROUTING: not valid JSON/);
    expect(bad('{"routes":[{"outputs":["slack"]},{"minSeverity":"severe","outputs":["slack"]}]}')).toMatch(/^ROUTING routes\[1\]\.minSeverity: Invalid option/);
    expect(bad('{"routes":[{"outputs":["email"]}]}')).toMatch(/^ROUTING routes\[0\]\.outputs\[0\]: Invalid option/);
    expect(bad('{"routes":[{"outputs":["slack","slack"]}]}')).toBe("ROUTING routes[0].outputs: lists an output twice");
    expect(bad('{"routes":[{"minRiskScore":101,"outputs":[]}]}')).toMatch(/^ROUTING routes\[0\]\.minRiskScore: /);
    expect(bad('{"routes":[{"tags":[],"outputs":[]}]}')).toMatch(/^ROUTING routes\[0\]\.tags: /);
    expect(bad('{"routes":[{"minseverity":"high","outputs":[]}]}')).toMatch(/^ROUTING routes\[0\]: Unrecognized key: "minseverity"/);
    expect(bad('{"routes":[{}]}')).toMatch(/^ROUTING routes\[0\]\.outputs: /);
    expect(bad('{"default":{"outputs":"slack"}}')).toMatch(/^ROUTING default\.outputs: /);
    expect(bad("[]")).toMatch(/^ROUTING \(top level\): /);
    // Every problem at once.
    expect(bad('{"routes":[{"outputs":["x"],"minSeverity":"y"}]}').split("; ")).toHaveLength(2);
  });
});
