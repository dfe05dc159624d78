import { stagesOf, walkExpr, type Expr, type Query, type Span } from "./ast.js";
import { EqlValidationError } from "./errors.js";
import { cidrMatcher, FUNCTION_NAMES, lookupFunction } from "./functions.js";
import { LuceneRegexError, compileLuceneRegex } from "./lucene-regex.js";

export const MAX_RUNS = 100;

/**
 * Checks what the grammar cannot: known functions and their arity, constant arguments, valid
 * regex and CIDR patterns, sequence shape (`runs`, missing-event stages, join key counts).
 * Returns every problem found, in source order; an empty list means the query is valid.
 */
export function validateQuery(query: Query, source: string): EqlValidationError[] {
  const errors: EqlValidationError[] = [];
  const report = (msg: string, span: Span) => errors.push(new EqlValidationError(msg, source, span));

  const checkExpr = (root: Expr) =>
    walkExpr(root, (e) => {
      switch (e.kind) {
        case "Call": {
          const spec = lookupFunction(e.name);
          if (!spec) {
            const hint = suggest(e.name);
            report(`unknown function [${e.name}]${hint ? `; did you mean [${hint}]?` : ""}`, e.nameSpan);
            return;
          }
          const display = `${spec.name}${e.caseInsensitive ? "~" : ""}`;
          if (e.caseInsensitive && !spec.caseInsensitiveVariant) {
            report(`function [${spec.name}] has no case-insensitive [~] variant`, e.nameSpan);
          }
          const n = e.args.length;
          if (n < spec.minArgs || n > spec.maxArgs) {
            const expected = spec.maxArgs === Infinity ? `at least ${spec.minArgs}`
              : spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
            report(`function [${display}] takes ${expected} argument${spec.maxArgs === 1 ? "" : "s"}, found ${n}`, e.span);
            return;
          }
          e.args.forEach((a, i) => {
            if (spec.constantArgs?.(i) && a.kind !== "Literal") {
              report(`argument ${i + 1} of [${display}] must be a constant`, a.span);
            }
          });
          if (spec.name === "cidrMatch") {
            for (const a of e.args.slice(1)) {
              if (a.kind !== "Literal") continue;
              if (typeof a.value !== "string") report(`[cidrMatch] needs CIDR blocks as strings, found [${String(a.value)}]`, a.span);
              else {
                const m = cidrMatcher([a.value]);
                if (typeof m !== "function") report(m.error, a.span);
              }
            }
          }
          return;
        }
        case "Match":
          for (const p of e.patterns) {
            if (p.value === null) {
              report(`[${e.op}] cannot match null; use [== null]`, p.span);
            } else if (e.op !== ":" && typeof p.value !== "string") {
              report(`[${e.op}${e.caseInsensitive ? "~" : ""}] needs string patterns, found [${String(p.value)}]`, p.span);
            } else if (e.op === "regex" && typeof p.value === "string") {
              try {
                compileLuceneRegex(p.value, e.caseInsensitive);
              } catch (err) {
                if (!(err instanceof LuceneRegexError)) throw err;
                report(`invalid regex ${JSON.stringify(p.value)}: ${err.message}`, p.span);
              }
            }
          }
          return;
        default:
          return;
      }
    });

  if (query.kind === "EventQuery") {
    checkExpr(query.filter.condition);
  } else {
    for (const k of query.by) checkExpr(k);
    for (const stage of stagesOf(query)) {
      checkExpr(stage.filter.condition);
      for (const k of stage.by) checkExpr(k);
    }
    const stages = query.stages;
    // Join keys: every stage (and until) must have the same number of keys.
    const all = stagesOf(query);
    const counts = all.map((s) => s.by.length);
    if (new Set(counts).size > 1) {
      const expected = counts[0]!;
      const bad = all.find((s) => s.by.length !== expected)!;
      report(
        `inconsistent number of join keys: the first stage has ${expected + query.by.length} but this stage has ${bad.by.length + query.by.length}`,
        bad.span,
      );
    }
    if (query.kind === "Sequence") {
      let total = 0;
      for (const s of stages) {
        if (s.runs !== null) {
          if (!Number.isInteger(s.runs) || s.runs < 1 || s.runs > MAX_RUNS) {
            report(`[runs] must be an integer from 1 to ${MAX_RUNS}, found [${s.runs}]`, s.runsSpan ?? s.span);
          }
          total += Number.isInteger(s.runs) ? Math.max(1, s.runs) : 1;
        } else total += 1;
      }
      if (total < 2) {
        report(`a sequence needs at least 2 stages (or a stage [with runs=N]), found ${total}`, query.span);
      }
      const hasMissing = stages.some((s) => s.missing);
      if (hasMissing && !query.maxspan) {
        report("a sequence with missing-event stages ![...] needs [with maxspan=...]", stages.find((s) => s.missing)!.span);
      }
      if (hasMissing && stages.every((s) => s.missing)) {
        report("a sequence needs at least one stage that is not a missing-event stage", query.span);
      }
      if (query.maxspan && !(query.maxspan.millis > 0)) {
        report(`[maxspan] must be positive, found [${query.maxspan.value}${query.maxspan.unit}]`, query.maxspan.span);
      }
    } else if (query.kind === "Sample") {
      if (stages.length < 2) report(`a sample needs at least 2 stages, found ${stages.length}`, query.span);
      if (query.by.length + (stages[0]?.by.length ?? 0) === 0) {
        report("a sample needs join keys: [sample by ...] or [...] by ...", query.span);
      }
    }
  }
  for (const p of query.pipes) {
    if (!Number.isInteger(p.count) || p.count <= 0) report(`[${p.name}] needs a positive integer, found [${p.count}]`, p.span);
  }
  return errors.sort((a, b) => a.span.start - b.span.start);
}

function suggest(name: string): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDist = 3;
  for (const f of FUNCTION_NAMES) {
    const d = editDistance(lower, f.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = f;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
