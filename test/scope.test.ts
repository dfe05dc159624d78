/**
 * Rule scope: stream names of events, index patterns of rules, and every distinct `index` list of
 * the 1,024 production EQL rules against events of each Elastic Defend dataset.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileIndexScope, eventStreamName, indexExpressions, indexToStreamName } from "../lib/detect/index.js";
import { seedAttack } from "./helpers/seed-attack.js";

interface FixtureRule {
  readonly rule_id: string;
  readonly path: string;
  readonly index: readonly string[] | null;
}
const FIXTURE = JSON.parse(readFileSync(new URL("./fixtures/detection-rules/eql-rules.json", import.meta.url), "utf8")) as {
  rules: FixtureRule[];
};
const SEED_INDEX = ["logs-endpoint.events.process-*", "logs-endpoint.events.network-*"];

/** Events shaped like Elastic Defend's, one per data stream it writes. */
const host = { id: "h-1", name: "WIN-01", os: { type: "windows", family: "windows" } };
const defend = (dataset: string, fields: Record<string, unknown>, namespace = "default") => ({
  "@timestamp": "2026-05-01T10:00:00.000Z",
  agent: { type: "endpoint", version: "9.1.0" },
  data_stream: { type: "logs", dataset, namespace },
  event: { id: `${dataset}-1`, dataset, module: "endpoint", kind: "event", ...(fields.event as object) },
  host,
  ...fields,
});
const DEFEND_EVENTS = {
  process: defend("endpoint.events.process", { event: { category: ["process"], type: ["start"], action: "start" }, process: { name: "cmd.exe", pid: 1 } }),
  network: defend("endpoint.events.network", {
    event: { category: ["network"], type: ["start"], action: "connection_attempted" },
    destination: { ip: "203.0.113.9", port: 443 },
  }),
  file: defend("endpoint.events.file", { event: { category: ["file"], type: ["creation"], action: "creation" }, file: { path: "C:\\x.txt" } }),
  registry: defend("endpoint.events.registry", { event: { category: ["registry"], type: ["change"], action: "modification" }, registry: { path: "HKLM\\x" } }),
  library: defend("endpoint.events.library", { event: { category: ["library"], type: ["start"], action: "load" }, dll: { name: "x.dll" } }),
  security: defend("endpoint.events.security", { event: { category: ["authentication"], type: ["start"], action: "log_on" }, user: { name: "a" } }),
  api: defend("endpoint.events.api", { event: { category: ["api"], type: ["info"], action: "VirtualProtect" }, process: { name: "x.exe" } }),
  volume_device: defend("endpoint.events.volume_device", { event: { category: ["host"], type: ["info"], action: "mount" } }),
  alerts: defend("endpoint.alerts", { event: { kind: "alert", category: ["malware"], type: ["info"], action: "execution" } }),
} as const;

/** Rules (of 1,024) whose index list covers each Defend data stream in the default namespace. */
const EXPECTED_RULES_IN_SCOPE: Record<keyof typeof DEFEND_EVENTS, number> = {
  process: 592,
  network: 150,
  file: 203,
  registry: 113,
  library: 89,
  security: 57,
  api: 58,
  volume_device: 57,
  alerts: 2,
};

/** Elasticsearch's resolution through regexes: the test oracle. */
function referenceScope(patterns: readonly string[] | null | undefined): (name: string) => boolean {
  if (patterns === null || patterns === undefined || patterns.length === 0) return () => true;
  const exprs = patterns.flatMap((p) => p.split(",")).map((p) => p.trim()).filter((p) => p !== "").map((p) => {
    let exclude = p.startsWith("-");
    let rest = exclude ? p.slice(1) : p;
    rest = rest.includes(":") ? rest.slice(rest.indexOf(":") + 1) : rest;
    if (!exclude && rest.startsWith("-")) {
      exclude = true;
      rest = rest.slice(1);
    }
    const re = new RegExp(`^${rest.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\\\?/g, ".")).join(".*")}$`, "su");
    return { exclude, re };
  }).filter((e) => e.re.source !== "^$");
  return (name) => {
    let included = false;
    for (const e of exprs) if (e.re.test(name)) included = !e.exclude;
    return included;
  };
}

describe("eventStreamName", () => {
  it("is type-dataset-namespace from the data_stream fields", () => {
    expect(eventStreamName(DEFEND_EVENTS.process)).toBe("logs-endpoint.events.process-default");
    expect(eventStreamName(DEFEND_EVENTS.alerts)).toBe("logs-endpoint.alerts-default");
    expect(eventStreamName({ "data_stream.type": "logs", "data_stream.dataset": "windows.sysmon_operational", "data_stream.namespace": "prod" })).toBe(
      "logs-windows.sysmon_operational-prod",
    );
    expect(eventStreamName(seedAttack()[1]!)).toBe("logs-endpoint.events.network-default");
  });

  it("is null when a data stream field is missing, empty or not a string", () => {
    expect(eventStreamName({})).toBe(null);
    expect(eventStreamName({ data_stream: { type: "logs", dataset: "x" } })).toBe(null);
    expect(eventStreamName({ data_stream: { type: "logs", dataset: "", namespace: "default" } })).toBe(null);
    expect(eventStreamName({ data_stream: { type: "logs", dataset: ["a", "b"], namespace: "default" } })).toBe(null);
    expect(eventStreamName({ data_stream: { type: 1, dataset: "a", namespace: "default" } })).toBe(null);
    expect(eventStreamName({ event: { dataset: "endpoint.events.process" } })).toBe(null);
  });

  it("prefers _index, mapped back to its data stream", () => {
    const e = { ...DEFEND_EVENTS.file, _index: ".ds-logs-endpoint.events.process-default-2024.01.01-000001" };
    expect(eventStreamName(e)).toBe("logs-endpoint.events.process-default");
    expect(eventStreamName({ _index: "winlogbeat-7.17.0-2024.01.01-000001" })).toBe("winlogbeat-7.17.0-2024.01.01-000001");
    expect(eventStreamName({ _index: "" , data_stream: { type: "logs", dataset: "a", namespace: "b" } })).toBe("logs-a-b");
  });
});

describe("indexToStreamName", () => {
  it.each([
    [".ds-logs-endpoint.events.process-default-2024.01.01-000001", "logs-endpoint.events.process-default"],
    [".ds-logs-endpoint.events.process-default-2024.01.01-1000001", "logs-endpoint.events.process-default"],
    ["partial-.ds-logs-windows.sysmon_operational-default-2023.12.31-000042", "logs-windows.sysmon_operational-default"],
    ["restored-.ds-logs-system.security-default-2023.12.31-000042", "logs-system.security-default"],
    ["shrink-x9k2-.ds-logs-aws.cloudtrail-default-2023.12.31-000007", "logs-aws.cloudtrail-default"],
    ["downsample-1h-.ds-metrics-system.cpu-default-2023.12.31-000007", "metrics-system.cpu-default"],
    ["remote_cluster:.ds-logs-endpoint.events.file-default-2024.02.29-000003", "logs-endpoint.events.file-default"],
    [".internal.alerts-security.alerts-default-000001", ".alerts-security.alerts-default"],
    ["endgame-2024.01.01", "endgame-2024.01.01"],
    ["logs-custom-default", "logs-custom-default"],
    [".ds-broken", ".ds-broken"],
    [".ds--2024.01.01-000001", ".ds--2024.01.01-000001"],
    ["foo-.ds-logs-x-default-2024.01.01-000001", "foo-.ds-logs-x-default-2024.01.01-000001"],
    [".ds-logs-x-default-2024.1.01-000001", ".ds-logs-x-default-2024.1.01-000001"],
  ])("%s -> %s", (index, stream) => {
    expect(indexToStreamName(index)).toBe(stream);
  });
});

describe("compileIndexScope", () => {
  const name = "logs-endpoint.events.process-default";

  it("matches index patterns with *, case-sensitively", () => {
    expect(compileIndexScope(SEED_INDEX)(name)).toBe(true);
    expect(compileIndexScope(SEED_INDEX)("logs-endpoint.events.network-prod")).toBe(true);
    expect(compileIndexScope(SEED_INDEX)("logs-endpoint.events.file-default")).toBe(false);
    expect(compileIndexScope(["logs-endpoint.events.process*"])(name)).toBe(true);
    expect(compileIndexScope(["logs-endpoint.events.*"])(name)).toBe(true);
    expect(compileIndexScope(["Logs-endpoint.events.*"])(name)).toBe(false);
    expect(compileIndexScope(["logs-endpoint.events.process-default"])(name)).toBe(true);
    expect(compileIndexScope(["apm-*-transaction*"])("apm-8.0.0-transaction-000001")).toBe(true);
  });

  it("applies exclusions to the patterns before them, in order", () => {
    const scope = compileIndexScope(["logs-*", "-logs-endpoint.events.process-*", "logs-endpoint.events.process-special"]);
    expect(scope("logs-windows.forwarded-default")).toBe(true);
    expect(scope(name)).toBe(false);
    expect(scope("logs-endpoint.events.process-special")).toBe(true);
    expect(compileIndexScope(["-logs-*"])(name)).toBe(false);
    expect(compileIndexScope(["-logs-excluded-*", "logs-*"])("logs-excluded-x")).toBe(true);
  });

  it("drops remote cluster prefixes and splits comma-separated expressions", () => {
    expect(compileIndexScope(["remote:logs-endpoint.*"])(name)).toBe(true);
    expect(compileIndexScope(["*:logs-endpoint.*"])(name)).toBe(true);
    expect(compileIndexScope(["logs-*", "cluster_a:-logs-endpoint.*"])(name)).toBe(false);
    expect(compileIndexScope(["logs-*", "-cluster_a:logs-endpoint.*"])(name)).toBe(false);
    expect(compileIndexScope(["winlogbeat-*, logs-endpoint.events.process-*"])(name)).toBe(true);
    expect(compileIndexScope([" , "])(name)).toBe(false);
    expect(indexExpressions(["a,-b", "c:d", "-e:f", "g:-h"])).toEqual([
      { exclude: false, pattern: "a" },
      { exclude: true, pattern: "b" },
      { exclude: false, pattern: "d" },
      { exclude: true, pattern: "f" },
      { exclude: true, pattern: "h" },
    ]);
  });

  it("a rule without index (or with an empty one) is in scope of everything", () => {
    expect(compileIndexScope(undefined)(name)).toBe(true);
    expect(compileIndexScope([])("anything")).toBe(true);
    expect(compileIndexScope(undefined, { matchEventsWithoutDataStream: false })(null)).toBe(true);
  });

  it("events of unknown origin match unless configured otherwise", () => {
    expect(compileIndexScope(SEED_INDEX)(null)).toBe(true);
    expect(compileIndexScope(SEED_INDEX, { matchEventsWithoutDataStream: false })(null)).toBe(false);
    expect(compileIndexScope(["a-*", "-a-b*"], { matchEventsWithoutDataStream: false })(null)).toBe(false);
  });

  it("agrees with the regex oracle on random patterns and names", () => {
    const part = fc.constantFrom("logs", "-", "endpoint", ".", "events", "*", "a", "process", "default");
    const patternArb = fc.tuple(fc.boolean(), fc.boolean(), fc.array(part, { maxLength: 6 })).map(
      ([exclude, remote, parts]) => `${exclude ? "-" : ""}${remote ? "remote:" : ""}${parts.join("")}`,
    );
    const nameArb = fc.array(fc.constantFrom("logs", "-", "endpoint", ".", "events", "a", "process", "default", "*"), { maxLength: 8 }).map((p) => p.join(""));
    fc.assert(
      fc.property(fc.array(patternArb, { minLength: 1, maxLength: 5 }), nameArb, (patterns, n) => compileIndexScope(patterns)(n) === referenceScope(patterns)(n)),
      { numRuns: 2000 },
    );
  });
});

describe("the 1,024-rule corpus", () => {
  const lists = new Map<string, readonly string[] | null>();
  for (const r of FIXTURE.rules) lists.set(JSON.stringify(r.index), r.index);

  it("has 270 distinct index lists, all of which compile", () => {
    expect(FIXTURE.rules).toHaveLength(1024);
    expect(lists.size).toBe(270);
    for (const patterns of lists.values()) expect(typeof compileIndexScope(patterns ?? undefined)).toBe("function");
  });

  const names = [
    ...Object.values(DEFEND_EVENTS).map((e) => eventStreamName(e)!),
    "logs-endpoint.events.process-prod",
    "logs-windows.sysmon_operational-default",
    "logs-windows.forwarded-default",
    "logs-system.security-default",
    "logs-crowdstrike.fdr-default",
    "logs-sentinel_one_cloud_funnel.event-default",
    "logs-m365_defender.event-default",
    "logs-auditd_manager.auditd-default",
    "logs-aws.cloudtrail-default",
    "logs-okta.system-default",
    ".alerts-security.alerts-default",
    "winlogbeat-8.15.0",
    "endgame-8.15.0",
    "auditbeat-8.15.0",
    "filebeat-8.15.0-2024.01.01-000001",
    "metrics-endpoint.metrics-default",
  ];

  it("every rule's scope agrees with the oracle on stream names of many integrations", () => {
    for (const patterns of lists.values()) {
      const scope = compileIndexScope(patterns ?? undefined);
      const oracle = referenceScope(patterns);
      for (const n of names) expect([patterns, n, scope(n)]).toEqual([patterns, n, oracle(n)]);
    }
  });

  it("Defend events of each dataset are in scope of the rules that read that dataset", () => {
    const counts = Object.fromEntries(
      Object.entries(DEFEND_EVENTS).map(([k, e]) => {
        const n = eventStreamName(e);
        return [k, FIXTURE.rules.filter((r) => compileIndexScope(r.index ?? undefined)(n)).length];
      }),
    );
    expect(counts).toEqual(EXPECTED_RULES_IN_SCOPE);
    // Counted independently of the implementation: a rule reads a dataset when one of its
    // patterns is a prefix wildcard of the dataset's stream name.
    const byPrefix = (stream: string) =>
      FIXTURE.rules.filter((r) => (r.index ?? []).some((p) => p.endsWith("*") && stream.startsWith(p.slice(0, -1)))).length;
    for (const [k, e] of Object.entries(DEFEND_EVENTS)) expect([k, counts[k]]).toEqual([k, byPrefix(eventStreamName(e)!)]);
    expect(counts["process"]).toBeGreaterThan(500);
    expect(counts["file"]).toBeGreaterThan(counts["library"]!);
    expect(counts["process"]).toBeGreaterThan(counts["volume_device"]!);
    // No rule reads Defend's own alerts, and the only ones in scope reach it via logs-endpoint* patterns.
    expect(counts["alerts"]).toBe(FIXTURE.rules.filter((r) => (r.index ?? []).some((p) => p === "logs-endpoint*" || p === "logs-endpoint.*")).length);
  });

  it("the seed rule's scope: process and network events only", () => {
    const scope = compileIndexScope(SEED_INDEX);
    const inScope = Object.entries(DEFEND_EVENTS).filter(([, e]) => scope(eventStreamName(e))).map(([k]) => k);
    expect(inScope).toEqual(["process", "network"]);
    expect(seedAttack().every((e) => scope(eventStreamName(e)))).toBe(true);
  });

  it("is fast: no allocation per test, millions of checks per second", () => {
    const scopes = [...lists.values()].map((p) => compileIndexScope(p ?? undefined));
    const n = eventStreamName(DEFEND_EVENTS.registry);
    let hits = 0;
    const t = performance.now();
    for (let round = 0; round < 200; round++) for (const s of scopes) if (s(n)) hits++;
    const ms = performance.now() - t;
    expect(hits).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000); // 54,000 checks
  });
});
