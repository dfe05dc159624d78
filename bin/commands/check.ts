/** `triage check PATH...`: load rule files, compile every EQL rule, report problems. */
import { snippet } from "../../lib/eql/index.js";
import {
  checkRule, formatFieldPath, loadRules, RuleLoadError, type RuleError, type RuleType,
} from "../../lib/rules/index.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, type Command } from "./command.js";

const HELP = `Usage: triage check [options] PATH...

Load Elastic detection rule TOML files and compile the query of every EQL rule.
A PATH is a rule file or a folder, searched recursively for *.toml files.

Output: one line per problem, "FILE:LINE:COL: message" (or "FILE: field.path: message" when
a field has the wrong type), then a summary:
  checked N rules: N ok, N failed, N not supported yet (query N, esql N, ...)
Rules of other types than eql (query, esql, threshold, new_terms, machine_learning,
threat_match) are validated but cannot run in the stream yet: they are counted in the
summary, not reported one by one unless --verbose is given, and do not fail the check.
Deprecated rules are checked like any other: check what you give it.

Options:
  --json         print one JSON document instead: {summary, problems, rules}
  -v, --verbose  also print each not-supported rule, and the source line under each query error
  -h, --help     show this help

Exit status: 0 if every rule loaded and every EQL rule compiled, 1 if any rule failed
(or no rule file was found), 2 for a usage error.
`;

type ProblemKind = RuleLoadError["kind"] | "eql_syntax" | "eql_validation";

interface Problem {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly kind: ProblemKind;
  /** `rule.risk_score` for schema errors. */
  readonly field: string | null;
  readonly message: string;
  readonly rule_id: string | null;
  readonly rule_name: string | null;
  /** The one-line text form. */
  readonly text: string;
  /** Source line with a caret, for query errors. */
  readonly context: string | null;
}

type RuleStatus = "ok" | "failed" | "unsupported";

interface RuleSummary {
  readonly file: string;
  readonly status: RuleStatus;
  readonly rule_id: string | null;
  readonly name: string | null;
  readonly type: RuleType | null;
}

export const checkCommand: Command = {
  name: "check",
  summary: "load rule TOML files and compile their EQL queries",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT_OK;
    }
    if (positionals.length === 0) throw new UsageError("missing PATH (a rule file or folder)");
    const verbose = values.verbose === true;

    const problems: Problem[] = [];
    const rules: RuleSummary[] = [];
    const unsupportedByType = new Map<RuleType, number>();
    const notices: string[] = [];

    for (const result of await loadRules(positionals)) {
      if (!result.success) {
        rules.push({ file: result.file, status: "failed", rule_id: null, name: null, type: null });
        for (const e of result.errors) problems.push(problem(e, e.kind, null, null));
        continue;
      }
      const { rule, file } = result.rule;
      const check = checkRule(result.rule);
      rules.push({ file, status: check.status, rule_id: rule.rule_id, name: rule.name, type: rule.type });
      switch (check.status) {
        case "ok":
          break;
        case "failed":
          for (const e of check.errors) {
            const kind = e.cause.name === "EqlSyntaxError" ? "eql_syntax" : "eql_validation";
            const context = e.located ? snippet(result.rule.text, e.span) : null;
            problems.push(problem(e, kind, rule.rule_id, rule.name, context));
          }
          break;
        case "unsupported":
          unsupportedByType.set(check.type, (unsupportedByType.get(check.type) ?? 0) + 1);
          notices.push(`${file}: rule type [${check.type}] is not supported yet`);
          break;
      }
    }

    const count = (status: RuleStatus): number => rules.filter((r) => r.status === status).length;
    const byType = [...unsupportedByType].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const summary = {
      checked: rules.length,
      ok: count("ok"),
      failed: count("failed"),
      unsupported: count("unsupported"),
      unsupported_by_type: Object.fromEntries(byType),
    };
    const nothingFound = rules.length === 0;

    if (values.json === true) {
      io.stdout(`${JSON.stringify({ summary, problems: problems.map(({ text: _text, ...p }) => p), rules }, null, 2)}\n`);
    } else {
      for (const p of problems) {
        io.stdout(`${p.text}\n`);
        if (verbose && p.context !== null) io.stdout(`${indent(p.context)}\n`);
      }
      if (verbose) for (const n of notices) io.stdout(`${n}\n`);
      const types = byType.length > 0 ? ` (${byType.map(([t, n]) => `${t} ${n}`).join(", ")})` : "";
      io.stdout(
        `checked ${summary.checked} rule${summary.checked === 1 ? "" : "s"}: ${summary.ok} ok, ${summary.failed} failed, ` +
          `${summary.unsupported} not supported yet${types}\n`,
      );
    }
    if (nothingFound) io.stderr(`triage check: no rule files found in ${positionals.join(", ")}\n`);
    return summary.failed > 0 || nothingFound ? EXIT_FAILED : EXIT_OK;
  },
};

function problem(
  e: RuleError,
  kind: ProblemKind,
  ruleId: string | null,
  ruleName: string | null,
  context: string | null = null,
): Problem {
  const field = e instanceof RuleLoadError && e.path.length > 0 ? formatFieldPath(e.path) : null;
  return {
    file: e.file,
    line: e.line ?? null,
    column: e.column ?? null,
    kind,
    field,
    message: e.reason,
    rule_id: ruleId,
    rule_name: ruleName,
    text: e.message,
    context,
  };
}

function indent(block: string): string {
  return block
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
