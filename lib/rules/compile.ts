import {
  compile, DEFAULT_CATEGORY_FIELD, lineCol, type CompileResult, type CompiledQuery, type EqlQueryError,
} from "../eql/index.js";
import { RuleQueryError } from "./errors.js";
import type { LoadedRule } from "./load.js";
import { isEqlRule, type EqlRule, type RuleType } from "./model.js";
import { locateQuery, type QueryLocation } from "./positions.js";

/** What compiling needs of an EQL rule (an `EqlRule`, or a row of the rule fixture). */
export interface EqlRuleQuery {
  readonly query: string;
  readonly event_category_override?: string | undefined;
}

/**
 * Parses, validates and compiles an EQL rule's query, honouring `event_category_override`.
 * Error spans are offsets into `rule.query`; `checkRule` places them in the file.
 */
export function compileRule(rule: EqlRuleQuery): CompileResult {
  return compile(rule.query, { categoryField: rule.event_category_override ?? DEFAULT_CATEGORY_FIELD });
}

/** A loaded rule known to be an EQL rule. */
export type LoadedEqlRule = LoadedRule & { readonly rule: EqlRule };

export type RuleCheck =
  | { readonly status: "ok"; readonly rule: LoadedEqlRule; readonly compiled: CompiledQuery }
  | { readonly status: "failed"; readonly rule: LoadedEqlRule; readonly errors: readonly RuleQueryError[] }
  /** Not an EQL rule: only EQL rules run in the stream (for now). */
  | { readonly status: "unsupported"; readonly rule: LoadedRule; readonly type: Exclude<RuleType, "eql"> };

/** Compiles a loaded rule and places its query errors at lines and columns of its file. */
export function checkRule(loaded: LoadedRule): RuleCheck {
  const { rule } = loaded;
  if (!isEqlRule(rule)) return { status: "unsupported", rule: loaded, type: rule.type };
  const eqlRule: LoadedEqlRule = { ...loaded, rule };
  const result = compileRule(rule);
  if (result.success) return { status: "ok", rule: eqlRule, compiled: result.data };
  const location = locateQuery(loaded.text, rule.query);
  return { status: "failed", rule: eqlRule, errors: result.errors.map((e) => locateQueryError(eqlRule, e, location)) };
}

/**
 * Places an EQL error (span relative to the query) in the rule's file. Pass `location` when
 * placing several errors of one rule, so the query is searched for once.
 */
export function locateQueryError(
  loaded: Pick<LoadedRule, "file" | "text"> & { readonly rule: EqlRuleQuery },
  error: EqlQueryError,
  location: QueryLocation | null = locateQuery(loaded.text, loaded.rule.query),
): RuleQueryError {
  if (location === null) {
    return new RuleQueryError(loaded.file, error, { line: 1, column: 1, span: { start: 0, end: 0 }, located: false });
  }
  const start = location.fileOffset(error.span.start);
  // The end maps through the last character of the span, so an escape at the end is covered whole.
  const end = error.span.end > error.span.start ? location.fileOffset(error.span.end - 1) + 1 : start;
  const { line, column } = lineCol(loaded.text, start);
  return new RuleQueryError(loaded.file, error, { line, column, span: { start, end: Math.max(start, end) }, located: true });
}
