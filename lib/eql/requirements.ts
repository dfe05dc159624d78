import type { Expr } from "./ast.js";
import { lower } from "./lower.js";
import { hasWildcards } from "./wildcard.js";

/**
 * Required equalities of a condition: conjuncts such as `process.name : ("a.exe", "b.exe")`,
 * `event.action == "start"` or `dll.name in ("x.dll")` that must hold for it to be true.
 * compile.ts's indexed `or` chains use them to skip disjuncts that cannot match; the disjuncts are
 * still evaluated, so a requirement only has to be implied by the condition, never equivalent.
 * (The stage index derives its own necessary clauses from its programs: stage-program.ts.)
 */
export interface Requirement {
  readonly field: string;
  /** Lower-cased when `ci`. */
  readonly values: readonly string[];
  readonly ci: boolean;
}

/**
 * Fields whose values are shared by most events of a category: a test on them selects little, so
 * the stage index prefers to anchor a stage on another one (atoms.ts `keyScore`).
 */
export const LOW_SELECTIVITY: ReadonlySet<string> = new Set([
  "host.os.type", "host.os.family", "host.os.name", "host.os.platform", "event.type", "event.action", "event.category",
  "event.outcome", "event.kind", "event.module", "event.dataset", "event.provider", "network.direction", "network.transport",
  "network.protocol", "data_stream.dataset", "agent.type", "process.Ext.token.integrity_level_name", "user.domain",
]);

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** String literals that index safely (numeric-looking text compares as a number: not indexed). */
function indexable(v: unknown): v is string {
  return typeof v === "string" && !NUMERIC.test(v);
}

/** Equalities that must hold for `e` to be true (conjuncts, and shared fields of disjuncts). */
export function requirements(e: Expr): Requirement[] {
  switch (e.kind) {
    case "Logical":
      if (e.op === "and") return [...requirements(e.left), ...requirements(e.right)];
      {
        // `a or b` requires something only if both sides require the same field.
        const l = requirements(e.left);
        const r = requirements(e.right);
        for (const x of l) {
          const y = r.find((q) => q.field === x.field);
          if (y) {
            const ci = x.ci || y.ci;
            const values = [...(ci && !x.ci ? x.values.map(lower) : x.values), ...(ci && !y.ci ? y.values.map(lower) : y.values)];
            return [{ field: x.field, values: [...new Set(values)], ci }];
          }
        }
        return [];
      }
    case "Compare": {
      if (e.op !== "==") return [];
      const [f, lit] = e.left.kind === "Field" ? [e.left, e.right] : [e.right, e.left];
      if (f.kind !== "Field" || f.optional || lit.kind !== "Literal" || !indexable(lit.value)) return [];
      return [{ field: f.name, values: [lit.value], ci: false }];
    }
    case "In": {
      if (e.negated || e.target.kind !== "Field" || e.target.optional) return [];
      if (!e.values.every((v) => v.kind === "Literal" && indexable(v.value))) return [];
      const vals = e.values.map((v) => (v as { value: string }).value);
      return [{ field: e.target.name, values: e.caseInsensitive ? vals.map(lower) : vals, ci: e.caseInsensitive }];
    }
    case "Match": {
      if (e.op === "regex" || e.target.kind !== "Field" || e.target.optional) return [];
      if (!e.patterns.every((p) => indexable(p.value) && !hasWildcards(p.value as string))) return [];
      const vals = e.patterns.map((p) => p.value as string);
      return [{ field: e.target.name, values: e.caseInsensitive ? vals.map(lower) : vals, ci: e.caseInsensitive }];
    }
    default:
      return [];
  }
}

