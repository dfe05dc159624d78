// `triage check` as users run it: the esbuild bundle (what `npm ci` builds into dist/) in a
// real node subprocess. The bundle is built into a temporary folder so that the test never
// races another build of dist/.
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleToml, SAMPLE_DIR, SAMPLES } from "./fixtures/detection-rules/samples.js";
import { buildCli, repoRoot, runCli, type Run } from "./helpers/cli.js";

let work: string;
let cli: string;

function triage(args: readonly string[], cwd = work): Promise<Run> {
  return runCli(cli, args, { cwd });
}

const BROKEN_QUERY = ["'''", "sequence by host.id with maxspan=1m", "  [process where true]", "  [network where process.name == ]", "'''"].join("\n");

beforeAll(async () => {
  ({ work, cli } = await buildCli("cli-check-"));

  await cp(SAMPLE_DIR, path.join(work, "samples"), { recursive: true });
  const mixed = path.join(work, "mixed");
  await mkdir(path.join(mixed, "sub"), { recursive: true });
  await cp(path.join(SAMPLE_DIR, SAMPLES.seed), path.join(mixed, "seed.toml"));
  await cp(path.join(SAMPLE_DIR, SAMPLES.until), path.join(mixed, "sub", "okta.toml"));
  await cp(path.join(SAMPLE_DIR, SAMPLES.newTerms), path.join(mixed, "sub", "new_terms.toml"));
  await writeFile(path.join(mixed, "sub", "broken-query.toml"), ruleToml({ query: BROKEN_QUERY, rule: { rule_id: '"broken-1"' } }));
  await writeFile(path.join(mixed, "bad-field.toml"), ruleToml({ rule: { risk_score: '"21"', rule_id: '"broken-2"' } }));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(path.dirname(cli), { recursive: true, force: true });
});

describe("triage", () => {
  it("--help lists the commands", async () => {
    const run = await triage(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: triage <command> \[options\]/);
    expect(run.stdout).toMatch(/^ {2}check +load rule TOML files/m);
    expect(run.stderr).toBe("");
  });

  it("check --help (and help check) explain the command", async () => {
    const run = await triage(["check", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: triage check \[options\] PATH\.\.\./);
    expect(run.stdout).toContain("--json");
    expect((await triage(["help", "check"])).stdout).toBe(run.stdout);
  });

  it("an unknown command is a usage error listing the commands", async () => {
    const run = await triage(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe('triage: unknown command "frobnicate"\nCommands: check, query, replay, redrive\nRun "triage --help" for usage.\n');
  });

  it("no command, no PATH and unknown options are usage errors", async () => {
    expect((await triage([])).code).toBe(2);
    const noPath = await triage(["check"]);
    expect(noPath.code).toBe(2);
    expect(noPath.stderr).toContain("triage check: missing PATH");
    const badOption = await triage(["check", "--frob", "samples"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--frob'");
  });
});

describe("triage check", () => {
  it("passes on good rules and counts the rule types it cannot run yet", async () => {
    const run = await triage(["check", "samples"]);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(
      "checked 11 rules: 7 ok, 0 failed, 4 not supported yet (esql 1, machine_learning 1, new_terms 1, threshold 1)\n",
    );
    expect(run.code).toBe(0);
  });

  it("passes on the bundled seed rule, run from the repository root", async () => {
    const run = await triage(["check", "rules/"], repoRoot);
    expect(run).toEqual({ code: 0, stdout: "checked 1 rule: 1 ok, 0 failed, 0 not supported yet\n", stderr: "" });
  });

  it("fails on a folder with broken rules, still checking the good ones", async () => {
    const run = await triage(["check", "mixed"]);
    expect(run.code).toBe(1);
    // The error is on line 3 of the query, which starts on the line after `query = '''`.
    const line = ruleToml({ query: BROKEN_QUERY }).split("\n").indexOf("query = '''") + 1 + 3;
    expect(run.stdout.split("\n")).toEqual([
      "mixed/bad-field.toml: rule.risk_score: expected number, received string",
      `mixed/sub/broken-query.toml:${line}:34: EQL syntax error: unexpected []]; expected a value, a field or a function`,
      "checked 5 rules: 2 ok, 2 failed, 1 not supported yet (new_terms 1)",
      "",
    ]);
  });

  it("--verbose adds the not-supported rules and the source line of each query error", async () => {
    const run = await triage(["check", "--verbose", "mixed/sub"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("\n      [network where process.name == ]\n                                     ^\n");
    expect(run.stdout).toContain("mixed/sub/new_terms.toml: rule type [new_terms] is not supported yet\n");
  });

  it("--json prints one machine-readable document", async () => {
    const run = await triage(["check", "--json", "mixed", path.join(work, "missing")]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as {
      summary: Record<string, unknown>;
      problems: Record<string, unknown>[];
      rules: Record<string, unknown>[];
    };
    expect(doc.summary).toEqual({ checked: 6, ok: 2, failed: 3, unsupported: 1, unsupported_by_type: { new_terms: 1 } });
    expect(doc.problems).toHaveLength(3);
    expect(doc.problems[0]).toEqual({
      file: "mixed/bad-field.toml", line: null, column: null, kind: "schema", field: "rule.risk_score",
      message: "expected number, received string", rule_id: null, rule_name: null, context: null,
    });
    expect(doc.problems[1]).toMatchObject({
      file: "mixed/sub/broken-query.toml", column: 34, kind: "eql_syntax", field: null, rule_id: "broken-1", rule_name: "Test rule",
    });
    expect(doc.problems[2]).toMatchObject({ file: path.join(work, "missing"), kind: "io", message: "no such file or directory" });
    expect(doc.rules.map((r) => r["status"])).toEqual(["failed", "ok", "failed", "unsupported", "ok", "failed"]);
  });

  it("fails when no rule file is found", async () => {
    await mkdir(path.join(work, "empty"), { recursive: true });
    const run = await triage(["check", "empty"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("triage check: no rule files found in empty\n");
  });
});
