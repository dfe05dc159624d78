// Every non-deprecated EQL rule of elastic/detection-rules (1,024, from the vendored fixture)
// parses, validates and compiles. Failures are listed by rule name: each one is a bug to fix in
// lib/eql, never a rule to skip here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CompiledQuery } from "../lib/eql/index.js";
import { compileRule } from "../lib/rules/index.js";

interface FixtureRule {
  readonly path: string;
  readonly rule_id: string;
  readonly name: string;
  readonly type: string;
  readonly language: string;
  readonly query: string;
  readonly index: string[] | null;
  readonly event_category_override: string | null;
  readonly timestamp_override: string | null;
  readonly building_block_type: string | null;
}

interface Fixture {
  readonly source: { readonly commit: string };
  readonly counts: { readonly types_all: Record<string, number>; readonly types_non_deprecated: Record<string, number> };
  readonly rules: readonly FixtureRule[];
}

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/detection-rules/eql-rules.json", import.meta.url), "utf8"),
) as Fixture;

describe("detection-rules corpus fixture", () => {
  it("holds exactly the 1,024 non-deprecated EQL rules (954 + 70 building blocks)", () => {
    expect(fixture.source.commit).toBe("14cf530f0d2177023092449cd9d9348b4a8884c2");
    expect(fixture.rules).toHaveLength(1024);
    expect(fixture.rules.filter((r) => r.path.startsWith("rules/"))).toHaveLength(954);
    expect(fixture.rules.filter((r) => r.path.startsWith("rules_building_block/"))).toHaveLength(70);
    expect(fixture.rules.every((r) => r.type === "eql" && r.language === "eql")).toBe(true);
    expect(fixture.rules.some((r) => r.path.startsWith("rules/_deprecated/"))).toBe(false);
    expect(new Set(fixture.rules.map((r) => r.rule_id)).size).toBe(1024);
    expect(fixture.counts.types_all).toEqual({
      eql: 1081, query: 508, new_terms: 245, esql: 212, machine_learning: 106, threshold: 31, threat_match: 9,
    });
  });
});

describe("compileRule over the 1,024 production EQL rules", () => {
  const compiled = new Map<string, CompiledQuery>();
  const failures: string[] = [];
  for (const rule of fixture.rules) {
    const result = compileRule({ query: rule.query, event_category_override: rule.event_category_override ?? undefined });
    if (result.success) compiled.set(rule.rule_id, result.data);
    else failures.push(`${rule.name} (${rule.path}): ${result.errors.map((e) => e.message).join("; ")}`);
  }

  it("compiles every rule", () => {
    expect(failures, `rules that failed to compile:\n${failures.join("\n")}`).toEqual([]);
    expect(compiled.size).toBe(1024);
  });

  it("honours event_category_override", () => {
    const overridden = fixture.rules.filter((r) => r.event_category_override !== null);
    expect(overridden.length).toBeGreaterThan(0);
    for (const rule of overridden) {
      expect(compiled.get(rule.rule_id)?.categoryField, rule.name).toBe(rule.event_category_override);
    }
    const plain = fixture.rules.find((r) => r.event_category_override === null);
    expect(compiled.get(plain!.rule_id)?.categoryField).toBe("event.category");
  });

  it("finds the query shapes the corpus statistics describe", () => {
    const queries = [...compiled.values()];
    expect(queries.filter((q) => q.kind === "Sequence")).toHaveLength(198);
    expect(queries.filter((q) => q.kind === "Sample")).toHaveLength(3);
    expect(queries.filter((q) => q.until !== null)).toHaveLength(1);
    expect(queries.filter((q) => q.stages.some((s) => s.runs > 1))).toHaveLength(18);
    expect(queries.filter((q) => q.stages.some((s) => s.missing))).toHaveLength(2);
  });
});
