/**
 * Typed AST of the Elasticsearch EQL dialect. Every node has a `kind` literal and a `span` of
 * source offsets; line and column are computed only when an error is shown (see errors.ts).
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

export type LiteralValue = string | number | boolean | null;

export interface Literal {
  readonly kind: "Literal";
  readonly value: LiteralValue;
  /** A number written with a decimal point or exponent (`4.0`): arithmetic on it is floating point. */
  readonly decimal?: boolean;
  readonly span: Span;
}

export interface FieldRef {
  readonly kind: "Field";
  /** Path segments, e.g. ["process", "parent", "name"]. */
  readonly path: readonly string[];
  /** Dotted name as written (without backquotes or `?`). */
  readonly name: string;
  /** `?field`: the field may be absent from the mapping; it is null when missing. */
  readonly optional: boolean;
  readonly span: Span;
}

export interface Not {
  readonly kind: "Not";
  readonly operand: Expr;
  readonly span: Span;
}

export interface Logical {
  readonly kind: "Logical";
  readonly op: "and" | "or";
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface Compare {
  readonly kind: "Compare";
  readonly op: CompareOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export type ArithOp = "+" | "-" | "*" | "/" | "%";

export interface Arith {
  readonly kind: "Arith";
  readonly op: ArithOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Negate {
  readonly kind: "Negate";
  readonly operand: Expr;
  readonly span: Span;
}

/** `x in (...)`, `x in~ (...)`, `x not in (...)`. */
export interface In {
  readonly kind: "In";
  readonly target: Expr;
  readonly values: readonly Expr[];
  readonly caseInsensitive: boolean;
  readonly negated: boolean;
  readonly span: Span;
}

/**
 * `x : "p"`, `x like "p"`, `x like~ "p"`, `x regex "p"`, `x regex~ "p"`, each with one pattern or a
 * list. `:` is always case-insensitive and, like `like`, treats `*` and `?` as wildcards.
 */
export type MatchOp = ":" | "like" | "regex";

export interface Match {
  readonly kind: "Match";
  readonly op: MatchOp;
  readonly caseInsensitive: boolean;
  readonly target: Expr;
  readonly patterns: readonly Literal[];
  readonly span: Span;
}

export interface Call {
  readonly kind: "Call";
  /** The function name as written (without `~`). */
  readonly name: string;
  /** `fn~(...)`. */
  readonly caseInsensitive: boolean;
  readonly args: readonly Expr[];
  readonly nameSpan: Span;
  readonly span: Span;
}

export type Expr = Literal | FieldRef | Not | Logical | Compare | Arith | Negate | In | Match | Call;

/** `category where condition`; `category` is null for `any where`. */
export interface EventFilter {
  readonly kind: "EventFilter";
  readonly category: string | null;
  readonly categorySpan: Span;
  readonly condition: Expr;
  readonly span: Span;
}

/** One bracketed term of a sequence or sample, or the `until` term. */
export interface Stage {
  readonly kind: "Stage";
  readonly filter: EventFilter;
  /** Per-stage `by` keys (the shared keys of the query come first at evaluation). */
  readonly by: readonly Expr[];
  /** `with runs=N`, or null. */
  readonly runs: number | null;
  readonly runsSpan: Span | null;
  /** `![...]`: a missing-event stage. */
  readonly missing: boolean;
  readonly span: Span;
}

export type TimeUnit = "ms" | "s" | "m" | "h" | "d";

export interface Duration {
  readonly kind: "Duration";
  readonly value: number;
  readonly unit: TimeUnit;
  readonly millis: number;
  readonly span: Span;
}

export interface Pipe {
  readonly kind: "Pipe";
  readonly name: "head" | "tail";
  readonly count: number;
  readonly span: Span;
}

export interface EventQuery {
  readonly kind: "EventQuery";
  readonly filter: EventFilter;
  readonly pipes: readonly Pipe[];
  readonly span: Span;
}

export interface SequenceQuery {
  readonly kind: "Sequence";
  readonly by: readonly Expr[];
  readonly maxspan: Duration | null;
  readonly stages: readonly Stage[];
  readonly until: Stage | null;
  readonly pipes: readonly Pipe[];
  readonly span: Span;
}

export interface SampleQuery {
  readonly kind: "Sample";
  readonly by: readonly Expr[];
  readonly stages: readonly Stage[];
  readonly pipes: readonly Pipe[];
  readonly span: Span;
}

export type Query = EventQuery | SequenceQuery | SampleQuery;

/** Calls `visit` on `expr` and every sub-expression, parents first. */
export function walkExpr(expr: Expr, visit: (e: Expr) => void): void {
  visit(expr);
  switch (expr.kind) {
    case "Literal":
    case "Field":
      return;
    case "Not":
    case "Negate":
      walkExpr(expr.operand, visit);
      return;
    case "Logical":
    case "Compare":
    case "Arith":
      walkExpr(expr.left, visit);
      walkExpr(expr.right, visit);
      return;
    case "In":
      walkExpr(expr.target, visit);
      for (const v of expr.values) walkExpr(v, visit);
      return;
    case "Match":
      walkExpr(expr.target, visit);
      for (const p of expr.patterns) walkExpr(p, visit);
      return;
    case "Call":
      for (const a of expr.args) walkExpr(a, visit);
      return;
    default:
      return assertNever(expr);
  }
}

/** Every stage of a query, including `until`, in source order. */
export function stagesOf(query: Query): readonly Stage[] {
  switch (query.kind) {
    case "EventQuery":
      return [];
    case "Sequence":
      return query.until ? [...query.stages, query.until] : query.stages;
    case "Sample":
      return query.stages;
    default:
      return assertNever(query);
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected node: ${JSON.stringify(x)}`);
}
