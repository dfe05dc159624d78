import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkRule, isDeprecated, loadRuleFile, loadRules, parseRule, RuleLoadError, type LoadedRule, type RuleLoadResult,
} from "../lib/rules/index.js";
import { ruleToml, SAMPLE_DIR, SAMPLES } from "./fixtures/detection-rules/samples.js";

function loaded(result: RuleLoadResult): LoadedRule {
  if (!result.success) throw new Error(`expected success, got:\n${result.errors.map((e) => e.message).join("\n")}`);
  return result.rule;
}

function messages(result: RuleLoadResult): string[] {
  if (result.success) throw new Error(`expected a failure for ${result.rule.file}`);
  return result.errors.map((e) => e.message);
}

const sample = async (name: keyof typeof SAMPLES): Promise<LoadedRule> =>
  loaded(await loadRuleFile(path.join(SAMPLE_DIR, SAMPLES[name])));

describe("loading the sample rule files", () => {
  it("loads the seed rule with its fields, threat mapping and metadata", async () => {
    const { rule, metadata, transform, file, text } = await sample("seed");
    expect(file).toBe(path.join(SAMPLE_DIR, SAMPLES.seed));
    expect(text).toContain("[metadata]");
    expect(metadata).toMatchObject({
      creation_date: "2023/09/28", updated_date: "2026/05/04", maturity: "production", integration: ["endpoint"],
    });
    expect(isDeprecated(metadata)).toBe(false);
    expect(rule).toMatchObject({
      rule_id: "3e441bdb-596c-44fd-8628-2cfdf4516ada",
      name: "Potential Remote File Execution via MSIEXEC",
      type: "eql",
      language: "eql",
      severity: "low",
      risk_score: 21,
      from: "now-9m",
      index: ["logs-endpoint.events.process-*", "logs-endpoint.events.network-*"],
      author: ["Elastic"],
      license: "Elastic License v2",
    });
    expect(rule.description).toMatch(/^Identifies the execution of the built-in Windows Installer/);
    expect(rule.type === "eql" && rule.query.startsWith("sequence with maxspan=1m\n [process where")).toBe(true);
    expect(rule.timestamp_override).toBeUndefined();
    expect(rule.interval).toBeUndefined();
    expect(rule.tags).toContain("Data Source: Elastic Defend");
    expect(rule.references).toEqual([]);
    expect(rule.note).toMatch(/^## Triage and analysis/);
    expect(rule.setup).toMatch(/^## Setup/);
    expect(transform).toBeUndefined();

    expect(rule.threat.map((t) => t.tactic.id)).toEqual(["TA0001", "TA0005", "TA0011"]);
    expect(rule.threat[0]).toEqual({
      framework: "MITRE ATT&CK",
      tactic: { id: "TA0001", name: "Initial Access", reference: "https://attack.mitre.org/tactics/TA0001/" },
      technique: [
        {
          id: "T1566",
          name: "Phishing",
          reference: "https://attack.mitre.org/techniques/T1566/",
          subtechnique: [
            { id: "T1566.002", name: "Spearphishing Link", reference: "https://attack.mitre.org/techniques/T1566/002/" },
          ],
        },
      ],
    });
    expect(rule.threat[2]?.technique?.[0]?.subtechnique).toBeUndefined();
  });

  it("loads a building block rule with [[transform.investigate]] and [[transform.osquery]] tables", async () => {
    const { rule, metadata, transform } = await sample("buildingBlock");
    expect(rule.building_block_type).toBe("default");
    expect(rule.timestamp_override).toBe("event.ingested");
    // Unknown keys are kept.
    expect(metadata["bypass_bbr_timing"]).toBe(true);
    expect(transform?.investigate).toHaveLength(3);
    expect(transform?.investigate?.[0]).toEqual({
      label: "Alerts associated with the user in the last 48h",
      providers: [
        [
          { excluded: false, field: "event.kind", queryType: "phrase", value: "signal", valueType: "string" },
          { excluded: false, field: "user.id", queryType: "phrase", value: "{{user.id}}", valueType: "string" },
        ],
      ],
      relativeFrom: "now-48h/h",
      relativeTo: "now",
    });
    expect(transform?.osquery?.map((o) => o.label)).toEqual([
      "Osquery - Retrieve DNS Cache",
      "Osquery - Retrieve All Services",
      "Osquery - Retrieve Services Running on User Accounts",
      "Osquery - Retrieve Service Unsigned Executables with Virustotal Link",
    ]);
    expect(transform?.osquery?.[2]?.query).toMatch(/^SELECT description, .*\nuser_account == null\)\n$/s);
  });

  it("loads an ES|QL rule with alert suppression", async () => {
    const { rule } = await sample("esqlSuppression");
    expect(rule.type).toBe("esql");
    expect(rule.type === "esql" && rule.language).toBe("esql");
    expect(rule.index).toBeUndefined();
    expect(rule.interval).toBe("15m");
    expect(rule.max_signals).toBe(100);
    expect(rule.alert_suppression).toEqual({
      group_by: ["host.name", "Esql.dest_host"],
      duration: { unit: "h", value: 6 },
      missing_fields_strategy: "suppress",
    });
    expect(rule.severity_mapping?.length).toBeGreaterThan(0);
  });

  it("loads new_terms, machine_learning and threshold rules", async () => {
    const newTerms = (await sample("newTerms")).rule;
    expect(newTerms.type).toBe("new_terms");
    if (newTerms.type !== "new_terms") throw new Error("unreachable");
    expect(newTerms.language).toBe("kuery");
    expect(newTerms.new_terms).toEqual({
      field: "new_terms_fields",
      value: ["host.id"],
      history_window_start: [{ field: "history_window_start", value: "now-7d" }],
    });
    expect(newTerms.investigation_fields?.field_names.length).toBeGreaterThan(0);

    const ml = (await sample("machineLearning")).rule;
    expect(ml.type).toBe("machine_learning");
    if (ml.type !== "machine_learning") throw new Error("unreachable");
    expect(ml.anomaly_threshold).toBe(50);
    expect(ml.machine_learning_job_id).toBe("gcp_audit_rare_method_for_a_city_ea");
    expect("query" in ml).toBe(false);

    const threshold = (await sample("threshold")).rule;
    if (threshold.type !== "threshold") throw new Error(`unexpected type ${threshold.type}`);
    expect(threshold.threshold).toEqual({
      field: ["destination.ip", "source.ip"],
      value: 1,
      cardinality: [{ field: "destination.port", value: 250 }],
    });
    expect(threshold.max_signals).toBe(5);
  });

  it("keeps event_category_override", async () => {
    expect((await sample("categoryOverride")).rule.event_category_override).toBe("event.type");
    expect((await sample("until")).rule.event_category_override).toBe("event.category");
  });

  it("loads the whole sample folder recursively, in path order, and compiles its EQL rules", async () => {
    const results = await loadRules(SAMPLE_DIR);
    expect(results.map((r) => (r.success ? path.relative(SAMPLE_DIR, r.rule.file) : r.file))).toEqual(
      Object.values(SAMPLES).sort(),
    );
    const checks = results.map((r) => checkRule(loaded(r)));
    const byStatus = (s: string) => checks.filter((c) => c.status === s).map((c) => c.rule.rule.type);
    expect(byStatus("failed")).toEqual([]);
    expect(byStatus("ok")).toHaveLength(7);
    expect(byStatus("unsupported").sort()).toEqual(["esql", "machine_learning", "new_terms", "threshold"]);
    const until = checks.find((c) => c.rule.file.endsWith(SAMPLES.until));
    expect(until?.status === "ok" && until.compiled.until !== null).toBe(true);
    const override = checks.find((c) => c.rule.file.endsWith(SAMPLES.categoryOverride));
    expect(override?.status === "ok" && override.compiled.categoryField).toBe("event.type");
  });
});

describe("malformed rule files", () => {
  it("names file, line and column for a TOML syntax error", () => {
    const text = ruleToml().replace('risk_score = 21', 'risk_score = = 21');
    const result = parseRule(text, "rules/x.toml");
    const line = text.split("\n").findIndex((l) => l.startsWith("risk_score")) + 1;
    expect(messages(result)).toEqual([`rules/x.toml:${line}:14: TOML syntax error: invalid value`]);
    expect(!result.success && result.errors[0]).toMatchObject({ kind: "toml", line, column: 14, file: "rules/x.toml" });
  });

  it("reports an unterminated query string at the line where it starts", () => {
    const result = parseRule(ruleToml({ query: "'''\nprocess where true\n" }), "x.toml");
    expect(messages(result)[0]).toMatch(/^x\.toml:\d+:\d+: TOML syntax error: /);
  });

  it("names file and field path for a wrong field type", () => {
    const result = parseRule(ruleToml({ rule: { risk_score: '"21"' } }), "rules/x.toml");
    expect(messages(result)).toEqual(["rules/x.toml: rule.risk_score: expected number, received string"]);
    const [error] = result.success ? [] : result.errors;
    expect(error).toBeInstanceOf(RuleLoadError);
    expect(error).toMatchObject({ kind: "schema", path: ["rule", "risk_score"], reason: "expected number, received string" });
  });

  it("reports a missing rule_id", () => {
    const result = parseRule(ruleToml({ rule: { rule_id: null } }), "x.toml");
    expect(messages(result)).toEqual(["x.toml: rule.rule_id: required field missing (expected string)"]);
  });

  it("reports a missing query on an eql rule, but not on a machine_learning rule", () => {
    expect(messages(parseRule(ruleToml({ query: null }), "x.toml"))).toEqual([
      "x.toml: rule.query: required field missing (expected string)",
    ]);
    const ml = ruleToml({
      query: null,
      rule: { type: '"machine_learning"', language: null, index: null, anomaly_threshold: "75", machine_learning_job_id: '"job"' },
    });
    expect(parseRule(ml, "ml.toml").success).toBe(true);
  });

  it("reports every problem of a file at once, with nested paths", () => {
    const text = ruleToml({
      rule: { severity: '"severe"', risk_score: "200", language: '"kuery"', from: '"9 minutes"' },
      after: ['[[rule.threat]]', 'framework = "MITRE ATT&CK"', "[rule.threat.tactic]", "id = 7", 'name = "x"', 'reference = "y"'].join("\n"),
    });
    expect(messages(parseRule(text, "x.toml")).sort()).toEqual([
      'x.toml: rule.from: expected a look-back like "now-9m", received "9 minutes"',
      'x.toml: rule.language: expected "eql", received "kuery"',
      "x.toml: rule.risk_score: expected a number <= 100, received 200",
      'x.toml: rule.severity: expected one of "low", "medium", "high", "critical", received "severe"',
      "x.toml: rule.threat[0].tactic.id: expected string, received number",
    ]);
  });

  it("reports an unknown or missing rule type and missing tables", () => {
    expect(messages(parseRule(ruleToml({ rule: { type: '"sigma"' } }), "x.toml"))).toEqual([
      'x.toml: rule.type: unknown value "sigma" (expected one of "eql", "query", "threshold", "esql", "machine_learning", "new_terms", "threat_match")',
    ]);
    expect(messages(parseRule(ruleToml({ rule: { type: null } }), "x.toml"))[0]).toMatch(
      /^x\.toml: rule\.type: required field missing \(expected one of "eql", /,
    );
    expect(messages(parseRule('[metadata]\ncreation_date = "2024/01/01"\n', "x.toml")).sort()).toEqual([
      "x.toml: metadata.maturity: required field missing (expected one of \"development\", \"experimental\", \"beta\", \"production\", \"deprecated\")",
      "x.toml: metadata.updated_date: required field missing (expected string)",
      "x.toml: rule: required field missing (expected object)",
    ]);
  });

  it("keeps unknown keys of [rule]", () => {
    const rule = loaded(parseRule(ruleToml({ rule: { custom_field: '{ a = 1 }', rule_name_override: '"x.y"' } }), "x.toml")).rule;
    expect(rule["custom_field"]).toEqual({ a: 1 });
    expect(rule.rule_name_override).toBe("x.y");
  });

  it("rejects __proto__ keys", () => {
    expect(messages(parseRule(ruleToml({ rule: { ["__proto__"]: "1" } }), "x.toml"))[0]).toMatch(
      /^x\.toml:\d+:1: TOML syntax error: document contains an unsafe property/,
    );
  });
});

describe("loadRules over folders", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "rules-load-"));
    await mkdir(path.join(dir, "a", "b"), { recursive: true });
    await mkdir(path.join(dir, ".hidden"));
    await writeFile(path.join(dir, "a", "good.toml"), ruleToml());
    await writeFile(path.join(dir, "a", "b", "bad-type.toml"), ruleToml({ rule: { risk_score: '"high"', rule_id: '"id-2"' } }));
    await writeFile(path.join(dir, "a", "b", "bad-syntax.toml"), "[rule\nname = 1\n");
    await writeFile(path.join(dir, "a", "b", "good2.toml"), ruleToml({ rule: { rule_id: '"id-3"' } }));
    await writeFile(path.join(dir, "a", "dup.toml"), ruleToml());
    await writeFile(path.join(dir, "a", "notes.md"), "not a rule");
    await writeFile(path.join(dir, ".hidden", "x.toml"), "broken");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("collects errors per file and keeps loading the others", async () => {
    const results = await loadRules(dir);
    const summary = results.map((r) => [path.relative(dir, r.success ? r.rule.file : r.file), r.success]);
    expect(summary).toEqual([
      ["a/b/bad-syntax.toml", false],
      ["a/b/bad-type.toml", false],
      ["a/b/good2.toml", true],
      ["a/dup.toml", true],
      ["a/good.toml", false],
    ]);
    expect(messages(results[4]!)).toEqual([
      `${path.join(dir, "a/good.toml")}: rule.rule_id: duplicate rule_id "00000000-0000-4000-8000-000000000001" (already used by ${path.join(dir, "a/dup.toml")})`,
    ]);
  });

  it("keeps paths relative as given and loads a file given twice once", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const results = await loadRules(["a/good.toml", "./a/good.toml", "a/b/good2.toml"]);
      expect(results.map((r) => r.success && r.rule.file)).toEqual(["a/good.toml", "a/b/good2.toml"]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("reports a path that does not exist", async () => {
    const results = await loadRules([path.join(dir, "missing"), path.join(dir, "a", "b", "good2.toml")]);
    expect(messages(results[0]!)).toEqual([`${path.join(dir, "missing")}: no such file or directory`]);
    expect(results[1]?.success).toBe(true);
  });
});
