import { assertNever, walkExpr, type ArithOp, type Compare, type EventFilter, type Expr, type FieldRef, type In, type Literal, type Match, type Query, type Stage } from "./ast.js";
import { ARITHMETIC, cidrMatcher, lookupFunction } from "./functions.js";
import { compileLuceneRegex } from "./lucene-regex.js";
import { compareVersions, type Mappings } from "./mapping.js";
import { requirements } from "./requirements.js";
import {
  fieldGetter, isTrue, scalarCompare, scalarEquals, scalarToString, toNumber,
  type Event, type Scalar, type Value,
} from "./values.js";
import { lower } from "./lower.js";
import { compileWildcard, hasWildcards, type StringMatcher } from "./wildcard.js";

/** A compiled condition. Never throws: missing fields and bad values make a test false. */
export type Predicate = (event: Event) => boolean;
/** A compiled value expression. Never throws; null stands for missing. */
export type Evaluator = (event: Event) => Value;

export interface CompileOptions {
  /** Field holding the event category (`event.category`, or a rule's `event_category_override`). */
  readonly categoryField?: string;
  /** Optional Elasticsearch field mappings (`null_value`, `version` type); see mapping.ts. */
  readonly mappings?: Mappings;
}

/** What compilation needs besides the AST. */
interface Ctx {
  readonly mappings: Mappings;
}

const NO_MAPPINGS: Ctx = { mappings: new Map() };

export interface CompiledStage {
  readonly index: number;
  /** Category before `where`; null for `any`. */
  readonly category: string | null;
  /** The category test and the condition together. */
  readonly matches: Predicate;
  /** The condition alone. */
  readonly condition: Predicate;
  /** Join keys: the query's shared `by` keys followed by the stage's own. */
  readonly keys: readonly Evaluator[];
  readonly keyNames: readonly string[];
  /** Per key: written `?field`, so a missing value is a null key rather than no match. */
  readonly keyOptional: readonly boolean[];
  readonly runs: number;
  readonly missing: boolean;
  readonly until: boolean;
  /** Fields the stage reads (condition and keys), for projections. */
  readonly fields: readonly string[];
  /** The stage's filter as parsed (for analysis, e.g. the stage index). */
  readonly filter: EventFilter;
  /** The field the category is read from (the query's `categoryField`). */
  readonly categoryField: string;
  /** The mappings the condition was compiled with: a stage index compiles its tests the same way. */
  readonly mappings: Mappings;
}

export interface CompiledQuery {
  readonly kind: Query["kind"];
  readonly ast: Query;
  /** One stage for an event query; the terms of a sequence or sample. */
  readonly stages: readonly CompiledStage[];
  readonly until: CompiledStage | null;
  readonly maxspanMs: number | null;
  readonly pipes: Query["pipes"];
  readonly categoryField: string;
  /** Every field the query reads, including the category field. */
  readonly fields: readonly string[];
}

export const DEFAULT_CATEGORY_FIELD = "event.category";

/** Compiles a parsed, validated query. Use `compile()` from the package index to go from text. */
export function compileAst(query: Query, options: CompileOptions = {}): CompiledQuery {
  const categoryField = options.categoryField ?? DEFAULT_CATEGORY_FIELD;
  const categoryGetter = fieldGetter(categoryField.split("."));
  const ctx: Ctx = { mappings: options.mappings ?? new Map() };
  const shared = query.kind === "EventQuery" ? [] : query.by;
  const mk = (filter: EventFilter, stage: Stage | null, index: number, until: boolean): CompiledStage => {
    const condition = predicate(filter.condition, ctx);
    const category = filter.category;
    const matches: Predicate = category === null ? condition : (e) => categoryIs(categoryGetter(e), category) && condition(e);
    const keyExprs = [...shared, ...(stage?.by ?? [])];
    const fields = new Set<string>();
    for (const x of [filter.condition, ...keyExprs]) collectFields(x, fields);
    return {
      index, category, matches, condition, until,
      keys: keyExprs.map((v) => value(v, ctx)),
      keyNames: keyExprs.map(exprName),
      keyOptional: keyExprs.map((k) => k.kind === "Field" && k.optional),
      runs: stage?.runs ?? 1,
      missing: stage?.missing ?? false,
      fields: [...fields],
      filter,
      categoryField,
      mappings: ctx.mappings,
    };
  };
  let stages: CompiledStage[];
  let until: CompiledStage | null = null;
  let maxspanMs: number | null = null;
  switch (query.kind) {
    case "EventQuery":
      stages = [mk(query.filter, null, 0, false)];
      break;
    case "Sequence":
      stages = query.stages.map((s, i) => mk(s.filter, s, i, false));
      until = query.until ? mk(query.until.filter, query.until, stages.length, true) : null;
      maxspanMs = query.maxspan?.millis ?? null;
      break;
    case "Sample":
      stages = query.stages.map((s, i) => mk(s.filter, s, i, false));
      break;
    default:
      return assertNever(query);
  }
  const fields = new Set<string>([categoryField]);
  for (const s of [...stages, ...(until ? [until] : [])]) for (const f of s.fields) fields.add(f);
  return { kind: query.kind, ast: query, stages, until, maxspanMs, pipes: query.pipes, categoryField, fields: [...fields] };
}

function categoryIs(v: Value, category: string): boolean {
  if (v === category) return true;
  if (v === null || typeof v !== "object") return false;
  for (const x of v) if (x === category) return true;
  return false;
}

function collectFields(e: Expr, out: Set<string>): void {
  walkExpr(e, (x) => {
    if (x.kind === "Field") out.add(x.name);
  });
}

function exprName(e: Expr): string {
  return e.kind === "Field" ? e.name : e.kind;
}

// ---- predicates --------------------------------------------------------------------------------

/**
 * Compiles a boolean condition. The `and`/`or`/`not` skeleton becomes one generated function
 * whose leaves (comparisons, `in`, `:`, functions) are precompiled closures, called through
 * monomorphic call sites: a tree of generic `and`/`or` closures makes every call megamorphic and
 * cost several times more. The generated source holds only operators and array indexes, never
 * text from the query, so nothing in a query can inject code.
 */
export function predicate(e: Expr, ctx: Ctx = NO_MAPPINGS): Predicate {
  if (e.kind !== "Logical" && e.kind !== "Not") return leafPredicate(e, ctx);
  const leaves: Predicate[] = [];
  const emit = (x: Expr, depth: number): string => {
    if (depth > 100) {
      leaves.push(leafPredicate(x, ctx));
      return `L[${leaves.length - 1}](e)`;
    }
    if (x.kind === "Not") return `!(${emit(x.operand, depth + 1)})`;
    if (x.kind === "Logical") {
      if (x.op === "or") {
        const indexed = orIndex(x, ctx);
        if (indexed) {
          leaves.push(indexed);
          return `L[${leaves.length - 1}](e)`;
        }
      }
      return `(${emit(x.left, depth + 1)} ${x.op === "and" ? "&&" : "||"} ${emit(x.right, depth + 1)})`;
    }
    leaves.push(leafPredicate(x, ctx));
    return `L[${leaves.length - 1}](e)`;
  };
  const body = emit(e, 0);
  let factory = skeletons.get(body);
  if (!factory) {
    factory = new Function("L", `"use strict"; return (e) => ${body};`) as (leaves: Predicate[]) => Predicate;
    skeletons.set(body, factory);
  }
  return factory(leaves);
}

/**
 * One test of a condition on its own (anything but `and`/`or`/`not`), compiled as `predicate`
 * compiles it inside a condition: for the stage index, which evaluates each distinct test once
 * per event.
 */
export function atomPredicate(e: Expr, mappings: Mappings): Predicate {
  return leafPredicate(e, { mappings });
}

/** Generated skeletons by source: many conditions share a shape, and generating code is costly. */
const skeletons = new Map<string, (leaves: Predicate[]) => Predicate>();

function leafPredicate(e: Expr, ctx: Ctx): Predicate {
  switch (e.kind) {
    case "Logical": {
      if (e.op === "or") {
        const indexed = orIndex(e, ctx);
        if (indexed) return indexed;
      }
      const a = predicate(e.left, ctx);
      const b = predicate(e.right, ctx);
      return e.op === "and" ? (x) => a(x) && b(x) : (x) => a(x) || b(x);
    }
    case "Not": {
      const p = predicate(e.operand, ctx);
      return (x) => !p(x);
    }
    case "Compare":
      return comparePredicate(e, ctx);
    case "In":
      return inPredicate(e, ctx);
    case "Match":
      return matchPredicate(e, ctx);
    case "Literal": {
      const t = e.value === true;
      return () => t;
    }
    case "Field":
    case "Call":
    case "Arith":
    case "Negate": {
      const v = value(e, ctx);
      return (x) => isTrue(v(x));
    }
    default:
      return assertNever(e);
  }
}

function disjuncts(e: Expr, out: Expr[] = []): Expr[] {
  if (e.kind === "Logical" && e.op === "or") {
    disjuncts(e.left, out);
    disjuncts(e.right, out);
  } else out.push(e);
  return out;
}

const OR_INDEX_MIN = 6;

/**
 * A long `or` chain whose disjuncts mostly require a value of one field (rules list dozens of
 * `(process.name : "x.exe" and not process.parent.name : (...))` alternatives) is compiled into a
 * lookup: the field's value selects the disjuncts that can hold, and only those (with the
 * disjuncts that do not constrain the field) are evaluated.
 */
function orIndex(e: Expr, ctx: Ctx): Predicate | null {
  const parts = disjuncts(e);
  if (parts.length < OR_INDEX_MIN) return null;
  const reqs = parts.map((p) => requirements(p));
  const count = new Map<string, number>();
  for (const rs of reqs) for (const f of new Set(rs.map((r) => r.field))) count.set(f, (count.get(f) ?? 0) + 1);
  let field: string | null = null;
  for (const [f, n] of count) if (n >= OR_INDEX_MIN && (field === null || n > count.get(field)!)) field = f;
  if (field === null || ctx.mappings.has(field)) return null;
  const preds = parts.map((p) => predicate(p, ctx));
  const cs = new Map<string, number[]>();
  const ci = new Map<string, number[]>();
  const rest: number[] = [];
  reqs.forEach((rs, i) => {
    const r = rs.find((x) => x.field === field);
    if (!r) {
      rest.push(i);
      return;
    }
    for (const v of r.values) {
      const map = r.ci ? ci : cs;
      const list = map.get(v);
      if (list) list.push(i);
      else map.set(v, [i]);
    }
  });
  const get = fieldGetter(field.split("."));
  const tryAll = (x: Event, list: readonly number[] | undefined): boolean => {
    if (list) for (let k = 0; k < list.length; k++) if (preds[list[k]!]!(x)) return true;
    return false;
  };
  const one = (x: Event, s: Scalar): boolean => {
    const text = typeof s === "string" ? s : scalarToString(s);
    return tryAll(x, cs.get(text)) || (ci.size > 0 && tryAll(x, ci.get(lower(text))));
  };
  return (x) => {
    if (tryAll(x, rest)) return true;
    const v = get(x);
    if (v === null) return false;
    if (typeof v !== "object") return one(x, v);
    for (const s of v) if (one(x, s)) return true;
    return false;
  };
}

/** True if some element of `v` satisfies `test`. */
function any(v: Value, test: (s: Scalar) => boolean): boolean {
  if (v === null) return false;
  if (typeof v !== "object") return test(v);
  for (const s of v) if (test(s)) return true;
  return false;
}

function comparePredicate(e: Compare, ctx: Ctx): Predicate {
  const { op } = e;
  // `x == null` / `x != null` test presence.
  if (e.right.kind === "Literal" && e.right.value === null || e.left.kind === "Literal" && e.left.value === null) {
    const other = value(e.right.kind === "Literal" && e.right.value === null ? e.left : e.right, ctx);
    if (op === "==") return (x) => other(x) === null;
    if (op === "!=") return (x) => other(x) !== null;
    return () => false;
  }
  if (op === "!=") {
    const eq = comparePredicate({ ...e, op: "==" }, ctx);
    return (x) => !eq(x);
  }
  // With an optional field (`?x == ?y`) equality is null-safe: two missing values are equal.
  if (op === "==" && (isOptionalField(e.left) || isOptionalField(e.right))) {
    const l = value(e.left, ctx);
    const r = value(e.right, ctx);
    return (x) => {
      const a = l(x);
      const b = r(x);
      if (a === null || b === null) return a === null && b === null;
      return any(a, (sa) => any(b, (sb) => scalarEquals(sa, sb)));
    };
  }
  // A `version` field compares by version precedence, not as text.
  const versionSide = isVersionField(e.left, ctx) || isVersionField(e.right, ctx);
  if (versionSide) {
    const l = value(e.left, ctx);
    const r = value(e.right, ctx);
    const test = versionTest(op);
    return (x) => {
      const a = l(x);
      const b = r(x);
      if (a === null || b === null) return false;
      return any(a, (sa) => any(b, (sb) => test(compareVersions(scalarToString(sa), scalarToString(sb)))));
    };
  }
  // Fast path: field == "constant".
  if (op === "==" && e.right.kind === "Literal" && e.left.kind !== "Literal") {
    const lit = e.right.value as Scalar;
    const left = value(e.left, ctx);
    return (x) => {
      const v = left(x);
      if (v === lit) return true;
      if (v === null || typeof v === typeof lit) return false;
      return any(v, (s) => scalarEquals(s, lit));
    };
  }
  const left = value(e.left, ctx);
  const right = value(e.right, ctx);
  const test = orderTest(op);
  return (x) => {
    const a = left(x);
    if (a === null) return false;
    const b = right(x);
    if (b === null) return false;
    return any(a, (sa) => any(b, (sb) => test(sa, sb)));
  };
}

function isVersionField(e: Expr, ctx: Ctx): boolean {
  return e.kind === "Field" && ctx.mappings.get(e.name)?.type === "version";
}

function versionTest(op: Exclude<Compare["op"], "!=">): (c: number) => boolean {
  switch (op) {
    case "==": return (c) => c === 0;
    case "<": return (c) => c < 0;
    case "<=": return (c) => c <= 0;
    case ">": return (c) => c > 0;
    case ">=": return (c) => c >= 0;
    default: return assertNever(op);
  }
}

function isOptionalField(e: Expr): boolean {
  return e.kind === "Field" && e.optional;
}

function orderTest(op: Exclude<Compare["op"], "!=">): (a: Scalar, b: Scalar) => boolean {
  switch (op) {
    case "==": return scalarEquals;
    case "<": return (a, b) => scalarCompare(a, b) < 0;
    case "<=": return (a, b) => scalarCompare(a, b) <= 0;
    case ">": return (a, b) => scalarCompare(a, b) > 0;
    case ">=": return (a, b) => scalarCompare(a, b) >= 0;
    default: return assertNever(op);
  }
}


function inPredicate(e: In, ctx: Ctx): Predicate {
  const target = value(e.target, ctx);
  const ci = e.caseInsensitive;
  let test: Predicate;
  const literal = inElementTest(e);
  if (literal) {
    const { one, hasNull } = literal;
    test = (x) => {
      const v = target(x);
      if (v === null) return hasNull;
      return any(v, one);
    };
  } else {
    const evs = e.values.map((v) => value(v, ctx));
    test = (x) => {
      const v = target(x);
      for (const ev of evs) {
        const w = ev(x);
        if (v === null || w === null) {
          if (v === null && w === null) return true;
          continue;
        }
        if (any(v, (a) => any(w, (b) => (ci && typeof a === "string" && typeof b === "string" ? lower(a) === lower(b) : scalarEquals(a, b))))) return true;
      }
      return false;
    };
  }
  return e.negated ? (x) => !test(x) : test;
}

/** `in` with literal values: the test of one scalar of the target, and whether a missing target matches. */
function inElementTest(e: In): { one: ElementTest; hasNull: boolean } | null {
  if (!e.values.every((v) => v.kind === "Literal")) return null;
  const ci = e.caseInsensitive;
  const vals = e.values.map((v) => (v as { value: Scalar | null }).value);
  const hasNull = vals.includes(null);
  const scalars = vals.filter((v): v is Scalar => v !== null);
  const strings = new Set(scalars.filter((v) => typeof v === "string").map((v) => (ci ? lower(v as string) : v as string)));
  const others = scalars.filter((v) => typeof v !== "string");
  const one = (s: Scalar, folded?: string): boolean => {
    if (typeof s === "string") {
      if (strings.has(ci ? (folded ?? lower(s)) : s)) return true;
      for (const o of others) if (scalarEquals(s, o)) return true;
      return false;
    }
    for (const o of scalars) if (scalarEquals(s, ci && typeof o === "string" ? lower(o) : o)) return true;
    return false;
  };
  return { one, hasNull };
}

const MATCH_CACHE_ENTRIES = 2048;
const MATCH_CACHE_MAX_CHARS = 512;

function matchPredicate(e: Match, ctx: Ctx): Predicate {
  const target = value(e.target, ctx);
  const one = matchElementTest(e, true);
  return (x) => any(target(x), one);
}

/**
 * `:`, `like` and `regex` on one scalar. With `cached`, results for short values are remembered
 * (see below); a caller with its own cache of values passes false.
 */
function matchElementTest(e: Match, cached: boolean): ElementTest {
  const ci = e.caseInsensitive;
  const exact = new Set<string>();
  const matchers: StringMatcher[] = [];
  const nonStrings: Scalar[] = [];
  for (const p of e.patterns) {
    const pv = p.value;
    if (pv === null) continue; // rejected by validation
    if (typeof pv !== "string") {
      nonStrings.push(pv);
      continue;
    }
    if (e.op === "regex") matchers.push(compileLuceneRegex(pv, ci));
    else {
      const pat = ci ? lower(pv) : pv;
      if (hasWildcards(pat)) matchers.push(compileWildcard(pat));
      else exact.add(pat);
    }
  }
  const regex = e.op === "regex";
  const test = (str: string, lowered: string | undefined): boolean => {
    // regex~ folds case inside the regex engine; `:` and `like~` fold here.
    const folded = ci && !regex ? (lowered ?? lower(str)) : str;
    if (exact.has(folded)) return true;
    for (let i = 0; i < matchers.length; i++) if (matchers[i]!(folded)) return true;
    return false;
  };
  // Pattern lists cost one matcher call per pattern and value, and field values repeat a lot
  // (process names, paths, arguments): results for short values are remembered, per predicate.
  const cache = cached && matchers.length > 1 ? new Map<string, boolean>() : null;
  return (s: Scalar, folded?: string): boolean => {
    for (let i = 0; i < nonStrings.length; i++) if (scalarEquals(s, nonStrings[i]!)) return true;
    const str = typeof s === "string" ? s : scalarToString(s);
    if (cache === null || str.length > MATCH_CACHE_MAX_CHARS) return test(str, folded);
    let r = cache.get(str);
    if (r === undefined) {
      r = test(str, folded);
      if (cache.size >= MATCH_CACHE_ENTRIES) cache.clear();
      cache.set(str, r);
    }
    return r;
  };
}

/** Functions whose predicate form is "one scalar of the first argument passes" (functions.ts `lift`). */
const LIFTED_TESTS: ReadonlySet<string> = new Set(["startsWith", "endsWith", "stringContains"]);

/**
 * A test of one scalar of a field's value; a multi-valued field matches when one scalar does.
 * `folded`, when given, must be `lower(scalarToString(s))`: a caller testing many atoms on one
 * value lower-cases it once for all of them.
 */
export type ElementTest = (s: Scalar, folded?: string) => boolean;

/**
 * A test that reads one field and is true exactly when the field is present and one of its
 * scalars passes `test`: `:`/`like`/`regex`, `in` with literal values and no null, a comparison
 * of the field with a non-null literal (`!=` aside, which holds on a missing value), and
 * `cidrMatch(field, blocks...)`, and `startsWith`/`endsWith`/`stringContains` of a field and
 * literals. The predicate compiled for such an expression is `any(field value, test)`; a caller that knows
 * the value (and caches results by value) can use the test directly. Fields with a mapping are
 * left out: `null_value` turns an explicit null into a value, and `version` compares otherwise.
 */
export function elementTest(e: Expr, mappings: Mappings): { readonly field: FieldRef; readonly test: ElementTest } | null {
  const unmapped = (x: Expr): x is FieldRef => x.kind === "Field" && !mappings.has(x.name);
  switch (e.kind) {
    case "Match":
      return unmapped(e.target) ? { field: e.target, test: matchElementTest(e, false) } : null;
    case "In": {
      if (e.negated || !unmapped(e.target)) return null;
      const t = inElementTest(e);
      return t && !t.hasNull ? { field: e.target, test: t.one } : null;
    }
    case "Call": {
      const spec = lookupFunction(e.name);
      const field = e.args[0];
      if (!spec || field === undefined || !unmapped(field) || !e.args.slice(1).every((a) => a.kind === "Literal")) return null;
      const rest = e.args.slice(1).map((a) => (a as Literal).value);
      // cidrMatch(field, "10.0.0.0/8", ...) tests each scalar of the field (see callValue).
      if (spec.name === "cidrMatch") {
        if (rest.length === 0 || !rest.every((b) => typeof b === "string")) return null;
        const m = cidrMatcher(rest as string[]);
        return typeof m === "function" ? { field, test: (s) => m(scalarToString(s)) } : null;
      }
      // The boolean string functions apply to each scalar of their first argument (functions.ts
      // `lift`), and a condition holds when one result is true.
      if (!LIFTED_TESTS.has(spec.name)) return null;
      const apply = spec.apply;
      const ci = e.caseInsensitive;
      return { field, test: (s) => isTrue(apply([s, ...rest], ci)) };
    }
    case "Compare": {
      if (e.op === "!=") return null;
      const literal = (x: Expr): x is Literal & { value: Scalar } => x.kind === "Literal" && x.value !== null;
      const test = orderTest(e.op);
      if (unmapped(e.left) && literal(e.right)) {
        const lit = e.right.value;
        return { field: e.left, test: (s) => test(s, lit) };
      }
      if (unmapped(e.right) && literal(e.left)) {
        const lit = e.left.value;
        return { field: e.right, test: (s) => test(lit, s) };
      }
      return null;
    }
    default:
      return null;
  }
}

// ---- values ------------------------------------------------------------------------------------

export function value(e: Expr, ctx: Ctx = NO_MAPPINGS): Evaluator {
  switch (e.kind) {
    case "Literal": {
      const v = e.value;
      return () => v;
    }
    case "Field": {
      const nullValue = ctx.mappings.get(e.name)?.nullValue;
      return fieldGetter(e.path, nullValue === undefined ? {} : { nullValue });
    }
    case "Negate": {
      const inner = value(e.operand, ctx);
      return (x) => mapNumbers(inner(x), (n) => -n);
    }
    case "Arith":
      return arithValue(e.op, e.left, e.right, ctx);
    case "Call": {
      // The arithmetic functions are the operators under another name.
      const op = ARITH_FUNCTIONS[e.name.toLowerCase()];
      if (op && e.args.length === 2) return arithValue(op, e.args[0]!, e.args[1]!, ctx);
      return callValue(e, ctx);
    }
    // In a value context a comparison on a missing value is null, not false (Elasticsearch:
    // `null == (exit_code > -1)` holds where exit_code is missing); at the top of a condition the
    // predicate form applies and null is false.
    case "Compare": {
      const isNullTest = (e.left.kind === "Literal" && e.left.value === null) || (e.right.kind === "Literal" && e.right.value === null);
      const p = predicate(e, ctx);
      if (isNullTest) return (x) => p(x);
      const l = value(e.left, ctx);
      const r = value(e.right, ctx);
      return (x) => (l(x) === null || r(x) === null ? null : p(x));
    }
    case "In":
    case "Match": {
      const t = value(e.target, ctx);
      const p = predicate(e, ctx);
      return (x) => (t(x) === null ? null : p(x));
    }
    case "Not": {
      const inner = value(e.operand, ctx);
      return (x) => {
        const v = inner(x);
        return v === null ? null : !isTrue(v);
      };
    }
    case "Logical": {
      const l = value(e.left, ctx);
      const r = value(e.right, ctx);
      const and = e.op === "and";
      return (x) => {
        const a = l(x);
        const b = r(x);
        const ta = a === null ? null : isTrue(a);
        const tb = b === null ? null : isTrue(b);
        if (and) return ta === false || tb === false ? false : ta === null || tb === null ? null : true;
        return ta === true || tb === true ? true : ta === null || tb === null ? null : false;
      };
    }
    default:
      return assertNever(e);
  }
}

const ARITH_FUNCTIONS: Readonly<Record<string, ArithOp>> = {
  add: "+", subtract: "-", multiply: "*", divide: "/", modulo: "%",
};

/** Statically floating point: a decimal literal, or arithmetic on one. */
function isDecimal(e: Expr): boolean {
  switch (e.kind) {
    case "Literal":
      return e.decimal === true;
    case "Negate":
      return isDecimal(e.operand);
    case "Arith":
      return isDecimal(e.left) || isDecimal(e.right);
    case "Call":
      return e.name.toLowerCase() in ARITH_FUNCTIONS && e.args.some(isDecimal);
    default:
      return false;
  }
}

function arithValue(opName: ArithOp, left: Expr, right: Expr, ctx: Ctx): Evaluator {
  const l = value(left, ctx);
  const r = value(right, ctx);
  const float = isDecimal(left) || isDecimal(right);
  const op = opName === "/" && float ? (a: number, b: number) => (b === 0 ? null : a / b) : ARITHMETIC[opName];
  return (x) => {
    const a = l(x);
    if (a === null) return null;
    const b = r(x);
    if (b === null || typeof b === "object") return null;
    const y = toNumber(b);
    if (Number.isNaN(y)) return null;
    return mapNumbers(a, (n) => op(n, y));
  };
}

function mapNumbers(v: Value, f: (n: number) => number | null): Value {
  const g = (s: Scalar): number | null => {
    const n = toNumber(s);
    if (Number.isNaN(n)) return null;
    const r = f(n);
    return r === null || !Number.isFinite(r) ? null : r;
  };
  if (v === null) return null;
  if (typeof v !== "object") return g(v);
  const out: number[] = [];
  for (const s of v) {
    const r = g(s);
    if (r !== null) out.push(r);
  }
  return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
}

function callValue(e: Extract<Expr, { kind: "Call" }>, ctx: Ctx): Evaluator {
  const spec = lookupFunction(e.name);
  if (!spec) return () => null; // rejected by validation
  const args = e.args.map((v) => value(v, ctx));
  if (spec.name === "cidrMatch" && e.args.slice(1).every((a) => a.kind === "Literal" && typeof a.value === "string")) {
    const m = cidrMatcher(e.args.slice(1).map((a) => (a as { value: string }).value));
    if (typeof m !== "function") return () => null;
    const ip = args[0]!;
    return (x) => {
      const v = ip(x);
      if (v === null) return null;
      if (typeof v !== "object") return m(scalarToString(v));
      return v.some((s) => m(scalarToString(s)));
    };
  }
  const ci = e.caseInsensitive;
  const apply = spec.apply;
  if (args.length === 1) {
    const a0 = args[0]!;
    return (x) => apply([a0(x)], ci);
  }
  if (args.length === 2) {
    const [a0, a1] = args as [Evaluator, Evaluator];
    return (x) => apply([a0(x), a1(x)], ci);
  }
  return (x) => apply(args.map((a) => a(x)), ci);
}
