import type { Query } from "./ast.js";
import { compileAst, type CompileOptions, type CompiledQuery } from "./compile.js";
import { EqlSyntaxError, type EqlQueryError } from "./errors.js";
import { parseQuery } from "./parser.js";
import { validateQuery } from "./validate.js";

export type {
  Arith, ArithOp, Call, Compare, CompareOp, Duration, EventFilter, EventQuery, Expr, FieldRef, In, Literal,
  LiteralValue, Logical, Match, MatchOp, Negate, Not, Pipe, Query, SampleQuery, SequenceQuery, Span, Stage, TimeUnit,
} from "./ast.js";
export { stagesOf, walkExpr } from "./ast.js";
export { EqlSyntaxError, EqlValidationError, lineCol, snippet, type EqlQueryError } from "./errors.js";
export { FUNCTION_NAMES } from "./functions.js";
export { compileLuceneRegex, luceneToRe2, LuceneRegexError } from "./lucene-regex.js";
export { compileWildcard } from "./wildcard.js";
export { fieldGetter, isTrue, scalarCompare, scalarEquals, type Event, type Scalar, type Value } from "./values.js";
export {
  DEFAULT_CATEGORY_FIELD, type CompileOptions, type CompiledQuery, type CompiledStage, type Evaluator, type Predicate,
} from "./compile.js";
export { MAX_RUNS } from "./validate.js";
export { printQuery, printExpr } from "./print.js";

export type ParseResult = { success: true; data: Query } | { success: false; errors: EqlQueryError[] };
export type CompileResult = { success: true; data: CompiledQuery } | { success: false; errors: EqlQueryError[] };

/** Parses and validates an EQL query. Never throws for bad input: errors come back in the result. */
export function parse(source: string): ParseResult {
  let query: Query;
  try {
    query = parseQuery(source);
  } catch (err) {
    if (err instanceof EqlSyntaxError) return { success: false, errors: [err] };
    if (err instanceof RangeError) return { success: false, errors: [tooDeep(source)] };
    throw err;
  }
  let errors: EqlQueryError[];
  try {
    errors = validateQuery(query, source);
  } catch (err) {
    if (err instanceof RangeError) return { success: false, errors: [tooDeep(source)] };
    throw err;
  }
  return errors.length > 0 ? { success: false, errors } : { success: true, data: query };
}

/** Stack exhaustion on pathological input (a chain of tens of thousands of terms) is an error, not a crash. */
function tooDeep(source: string): EqlSyntaxError {
  return new EqlSyntaxError("query too deeply nested or too long", source, { start: 0, end: Math.min(1, source.length) });
}

/** Parses, validates and compiles an EQL query into predicates. */
export function compile(source: string, options: CompileOptions = {}): CompileResult {
  const parsed = parse(source);
  if (!parsed.success) return parsed;
  try {
    return { success: true, data: compileAst(parsed.data, options) };
  } catch (err) {
    if (err instanceof RangeError) return { success: false, errors: [tooDeep(source)] };
    throw err;
  }
}
export { combinations, evaluate, type EvaluateOptions, type Evaluation, type EvaluationResult, type SkippedEvent, type SkipReason } from "./evaluate.js";
export { brokenByUntil, rejectedByMissing, SequenceMachine, type CompletedSequence, type Member, type SequenceSpec } from "./sequence-machine.js";
export { compareOrdinals, canonicalJson, eventIdentity, ordinalReader, DEFAULT_TIMESTAMP_FIELD, type Ordinal, type OrderingOptions } from "./ordering.js";
export { keyTuples, normaliseKey, tupleKey, MAX_KEY_TUPLES, type KeyValue } from "./join-keys.js";
export { parseTimestamp, formatTimestamp } from "./timestamp.js";
export { compareVersions, mappingsFromElasticsearch, type FieldMapping, type Mappings } from "./mapping.js";
export { buildStageIndex, type IndexedStage, type StageIndex } from "./stage-index.js";
