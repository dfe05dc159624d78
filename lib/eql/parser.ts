import type {
  ArithOp, CompareOp, Duration, EventFilter, Expr, FieldRef, Literal, Pipe, Query, Span, Stage, TimeUnit,
} from "./ast.js";
import { EqlSyntaxError } from "./errors.js";
import { tokenize, type Token } from "./lexer.js";

/**
 * Binding power of the binary operators, read by one precedence-climbing function.
 * `not` sits between `and` and the comparisons: `not a == b` is `not (a == b)`.
 */
const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  // 3: prefix `not`
  "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
  "+": 5, "-": 5,
  "*": 6, "/": 6, "%": 6,
};
const NOT_PRECEDENCE = 3;
const COMPARISON = 4;

const TIME_UNITS: Readonly<Record<string, { unit: TimeUnit; ms: number }>> = {
  ms: { unit: "ms", ms: 1 },
  s: { unit: "s", ms: 1000 },
  m: { unit: "m", ms: 60_000 },
  h: { unit: "h", ms: 3_600_000 },
  d: { unit: "d", ms: 86_400_000 },
};

/** Deep nesting must give a syntax error, not a stack overflow. */
const MAX_DEPTH = 200;

/** Parses a whole EQL query (event query, sequence or sample, with pipes). Throws EqlSyntaxError. */
export function parseQuery(source: string): Query {
  return new Parser(source).query();
}

/** Parses a single expression (the part after `where`). Throws EqlSyntaxError. */
export function parseExpression(source: string): Expr {
  const p = new Parser(source);
  const e = p.expression();
  p.expectEnd();
  return e;
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  // ---- token helpers -------------------------------------------------------------------------

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }

  private is(kind: Token["kind"], text?: string): boolean {
    const t = this.peek();
    return t.kind === kind && (text === undefined || t.text === text);
  }

  private accept(kind: Token["kind"], text?: string): Token | null {
    return this.is(kind, text) ? this.next() : null;
  }

  private expect(kind: Token["kind"], text: string | undefined, what: string): Token {
    const t = this.peek();
    if (t.kind === kind && (text === undefined || t.text === text)) return this.next();
    return this.fail(`expected ${what} but found ${describe(t)}`, t);
  }

  private fail(message: string, at: Span): never {
    throw new EqlSyntaxError(message, this.source, { start: at.start, end: Math.max(at.end, at.start + 1) });
  }

  private span(start: number): Span {
    const prev = this.tokens[this.pos - 1];
    return { start, end: prev ? prev.end : start };
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== "eof") this.fail(`unexpected ${describe(t)} after the end of the query`, t);
  }

  // ---- queries -------------------------------------------------------------------------------

  query(): Query {
    const start = this.peek().start;
    let q: Query;
    if (this.is("keyword", "sequence")) q = this.sequence();
    else if (this.is("keyword", "sample")) q = this.sample();
    else if (this.is("keyword", "join")) {
      return this.fail("join is not supported; use a sequence", this.peek());
    } else {
      const filter = this.eventFilter();
      q = { kind: "EventQuery", filter, pipes: [], span: this.span(start) };
    }
    const pipes = this.pipes();
    this.expectEnd();
    return { ...q, pipes, span: this.span(start) };
  }

  private pipes(): Pipe[] {
    const pipes: Pipe[] = [];
    while (this.accept("punct", "|")) {
      const nameTok = this.peek();
      if (nameTok.kind !== "ident" && nameTok.kind !== "keyword") {
        this.fail(`expected a pipe name after [|] but found ${describe(nameTok)}`, nameTok);
      }
      this.next();
      const name = nameTok.text;
      if (name !== "head" && name !== "tail") {
        this.fail(`pipe [${name}] is not supported; supported pipes are [head] and [tail]`, nameTok);
      }
      const countTok = this.peek();
      let count = 10; // Elasticsearch's default for a bare `| head` / `| tail`
      if (countTok.kind === "number") {
        this.next();
        count = countTok.value as number;
        if (!Number.isInteger(count) || count <= 0) {
          this.fail(`[${name}] needs a positive integer, found [${countTok.text}]`, countTok);
        }
      } else if (countTok.kind === "punct" && countTok.text === "-") {
        this.fail(`[${name}] needs a positive integer`, countTok);
      }
      pipes.push({ kind: "Pipe", name, count, span: this.span(nameTok.start) });
    }
    return pipes;
  }

  private sequence(): Query {
    const start = this.next().start; // `sequence`
    let by: Expr[] = [];
    let maxspan: Duration | null = null;
    if (this.is("keyword", "by")) {
      by = this.joinKeys();
      if (this.is("keyword", "with")) maxspan = this.maxspan();
    } else if (this.is("keyword", "with")) {
      maxspan = this.maxspan();
      if (this.is("keyword", "by")) {
        this.fail("specify the sequence [by] keys before [with maxspan]", this.peek());
      }
    }
    const stages: Stage[] = [];
    while (this.is("punct", "[") || this.is("punct", "![")) stages.push(this.stage(true));
    if (stages.length === 0) this.fail(`expected a sequence stage [...] but found ${describe(this.peek())}`, this.peek());
    let until: Stage | null = null;
    if (this.is("keyword", "until")) {
      const kw = this.next();
      if (this.is("punct", "![")) this.fail("an [until] stage cannot be a missing-event stage", this.peek());
      if (!this.is("punct", "[")) this.fail(`expected [[] after [until] but found ${describe(this.peek())}`, this.peek());
      until = this.stage(false);
      void kw;
    }
    return { kind: "Sequence", by, maxspan, stages, until, pipes: [], span: this.span(start) };
  }

  private sample(): Query {
    const start = this.next().start; // `sample`
    const by = this.is("keyword", "by") ? this.joinKeys() : [];
    if (this.is("keyword", "with")) this.fail("sample does not take [with] parameters", this.peek());
    const stages: Stage[] = [];
    while (this.is("punct", "[") || this.is("punct", "![")) {
      if (this.is("punct", "![")) this.fail("missing-event stages are only allowed in sequences", this.peek());
      stages.push(this.stage(false));
    }
    if (stages.length === 0) this.fail(`expected a sample stage [...] but found ${describe(this.peek())}`, this.peek());
    return { kind: "Sample", by, stages, pipes: [], span: this.span(start) };
  }

  private maxspan(): Duration {
    this.next(); // with
    const key = this.peek();
    if (!(key.kind === "keyword" && key.text === "maxspan")) {
      this.fail(`expected [maxspan] after [with] but found ${describe(key)}`, key);
    }
    this.next();
    this.expect("punct", "=", "[=]");
    const numTok = this.peek();
    if (numTok.kind !== "number") this.fail(`expected a time span such as [1m] but found ${describe(numTok)}`, numTok);
    this.next();
    const value = numTok.value as number;
    const unitTok = this.peek();
    if (unitTok.kind !== "ident" || unitTok.start !== numTok.end) {
      this.fail(`a time unit is required after [${numTok.text}]; use one of [ms, s, m, h, d]`, numTok);
    }
    const unit = TIME_UNITS[unitTok.text];
    if (!unit) this.fail(`unknown time unit [${unitTok.text}]; use one of [ms, s, m, h, d]`, unitTok);
    this.next();
    return { kind: "Duration", value, unit: unit.unit, millis: value * unit.ms, span: this.span(numTok.start) };
  }

  private joinKeys(): Expr[] {
    this.next(); // by
    const keys = [this.expression()];
    while (this.accept("punct", ",")) keys.push(this.expression());
    return keys;
  }

  private stage(allowRuns: boolean): Stage {
    const open = this.next(); // `[` or `![`
    const missing = open.text === "![";
    const filter = this.eventFilter();
    this.expect("punct", "]", "[]] to close the stage");
    const by = this.is("keyword", "by") ? this.joinKeys() : [];
    let runs: number | null = null;
    let runsSpan: Span | null = null;
    if (this.is("keyword", "with")) {
      const withTok = this.next();
      const key = this.peek();
      if (key.kind === "keyword" && key.text === "maxspan") {
        this.fail("[maxspan] belongs after [sequence], not after a stage", key);
      }
      if (key.kind !== "ident") this.fail(`expected [runs] after [with] but found ${describe(key)}`, key);
      this.next();
      if (key.text !== "runs") this.fail(`unknown stage parameter [${key.text}]; only [runs] is supported`, key);
      if (!allowRuns) this.fail("[with runs] is only allowed in sequence stages", key);
      this.expect("punct", "=", "[=]");
      const num = this.peek();
      if (num.kind !== "number") this.fail(`expected a number after [runs=] but found ${describe(num)}`, num);
      this.next();
      runs = num.value as number;
      runsSpan = { start: withTok.start, end: num.end };
    }
    return { kind: "Stage", filter, by, runs, runsSpan, missing, span: this.span(open.start) };
  }

  private eventFilter(): EventFilter {
    const t = this.peek();
    let category: string | null;
    if (t.kind === "keyword" && t.text === "any") category = null;
    else if (t.kind === "ident" && !t.tilde) category = t.text;
    else if (t.kind === "qident" || t.kind === "string") category = t.kind === "string" ? (t.value as string) : t.text;
    else if (t.kind === "keyword" && t.text === "where") {
      return this.fail("expected an event category (or [any]) before [where]", t);
    } else return this.fail(`expected an event category such as [process] or [any] but found ${describe(t)}`, t);
    this.next();
    const where = this.peek();
    if (!(where.kind === "keyword" && where.text === "where")) {
      this.fail(`expected [where] after the event category but found ${describe(where)}`, where);
    }
    this.next();
    const condition = this.expression();
    return { kind: "EventFilter", category, categorySpan: { start: t.start, end: t.end }, condition, span: this.span(t.start) };
  }

  // ---- expressions ---------------------------------------------------------------------------

  expression(): Expr {
    return this.binary(1);
  }

  private enter(at: Token): void {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, at);
  }

  private binary(minPrec: number): Expr {
    const first = this.peek();
    this.enter(first);
    let left: Expr;
    if (first.kind === "keyword" && first.text === "not") {
      if (minPrec > NOT_PRECEDENCE) this.fail("[not] must be in parentheses here", first);
      this.next();
      const operand = this.binary(NOT_PRECEDENCE);
      left = { kind: "Not", operand, span: this.span(first.start) };
    } else {
      left = this.unary();
    }
    for (;;) {
      const t = this.peek();
      const op = t.kind === "keyword" || t.kind === "punct" ? t.text : "";
      const prec = PRECEDENCE[op];
      if (prec === undefined) {
        if (t.kind === "punct" && t.text === "=") this.fail("use [==] to compare values, not [=]", t);
        break;
      }
      if (prec < minPrec) break;
      this.next();
      const right = this.binary(prec + 1);
      const span = { start: left.span.start, end: right.span.end };
      if (op === "and" || op === "or") left = { kind: "Logical", op, left, right, span };
      else if (prec === COMPARISON) {
        left = { kind: "Compare", op: op as CompareOp, left, right, span };
        const after = this.peek();
        if (PRECEDENCE[after.text] === COMPARISON && (after.kind === "punct")) {
          this.fail(`comparisons cannot be chained; use [and] between them`, after);
        }
      } else left = { kind: "Arith", op: op as ArithOp, left, right, span };
    }
    this.depth--;
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === "punct" && (t.text === "-" || t.text === "+")) {
      this.enter(t);
      this.next();
      const operand = this.unary();
      this.depth--;
      const span = this.span(t.start);
      if (t.text === "+") return operand;
      if (operand.kind === "Literal" && typeof operand.value === "number") {
        return { kind: "Literal", value: -operand.value, ...(operand.decimal ? { decimal: true } : {}), span };
      }
      return { kind: "Negate", operand, span };
    }
    return this.predicate(this.primary());
  }

  /** `x in (...)`, `x not in (...)`, `x : ...`, `x like ...`, `x regex ...` and their `~` forms. */
  private predicate(target: Expr): Expr {
    const t = this.peek();
    if (t.kind === "keyword" && t.text === "not") {
      const after = this.peek(1);
      if (after.kind === "keyword" && (after.text === "in" || after.text === "in~")) {
        this.next();
        this.next();
        return this.inList(target, after.text === "in~", true);
      }
      if (after.kind === "punct" && after.text === ":" || after.kind === "keyword" && /^(like|regex)~?$/.test(after.text)) {
        this.fail(`[not] cannot be used before [${after.text}]; write [not x ${after.text} ...]`, t);
      }
      return target;
    }
    if (t.kind === "keyword" && (t.text === "in" || t.text === "in~")) {
      this.next();
      return this.inList(target, t.text === "in~", false);
    }
    let op: ":" | "like" | "regex" | null = null;
    let ci = false;
    if (t.kind === "punct" && t.text === ":") {
      op = ":";
      ci = true;
    } else if (t.kind === "keyword" && /^(like|regex)~?$/.test(t.text)) {
      op = t.text.startsWith("like") ? "like" : "regex";
      ci = t.text.endsWith("~");
    }
    if (!op) return target;
    this.next();
    const patterns: Literal[] = [];
    if (this.accept("punct", "(")) {
      patterns.push(this.constant(t.text));
      while (this.accept("punct", ",")) patterns.push(this.constant(t.text));
      this.expect("punct", ")", "[)] to close the list");
    } else {
      patterns.push(this.constant(t.text));
    }
    return { kind: "Match", op, caseInsensitive: ci, target, patterns, span: this.span(target.span.start) };
  }

  private constant(op: string): Literal {
    const t = this.peek();
    const neg = t.kind === "punct" && t.text === "-" && this.peek(1).kind === "number";
    if (neg) this.next();
    const v = this.peek();
    if (v.kind === "string" || v.kind === "number") {
      this.next();
      const value = v.kind === "number" ? (neg ? -(v.value as number) : (v.value as number)) : (v.value as string);
      return { kind: "Literal", value, ...(v.decimal ? { decimal: true } : {}), span: this.span(t.start) };
    }
    if (v.kind === "keyword" && (v.text === "true" || v.text === "false" || v.text === "null")) {
      this.next();
      return { kind: "Literal", value: v.text === "null" ? null : v.text === "true", span: this.span(v.start) };
    }
    return this.fail(`[${op}] needs constant values (strings); found ${describe(v)}`, v);
  }

  private inList(target: Expr, ci: boolean, negated: boolean): Expr {
    this.expect("punct", "(", "[(] to open the list");
    const values = [this.expression()];
    while (this.accept("punct", ",")) values.push(this.expression());
    this.expect("punct", ")", "[)] to close the list");
    return { kind: "In", target, values, caseInsensitive: ci, negated, span: this.span(target.span.start) };
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case "string":
        this.next();
        return { kind: "Literal", value: t.value as string, span: this.span(t.start) };
      case "number":
        this.next();
        return { kind: "Literal", value: t.value as number, ...(t.decimal ? { decimal: true } : {}), span: this.span(t.start) };
      case "keyword":
        if (t.text === "true" || t.text === "false") {
          this.next();
          return { kind: "Literal", value: t.text === "true", span: this.span(t.start) };
        }
        if (t.text === "null") {
          this.next();
          return { kind: "Literal", value: null, span: this.span(t.start) };
        }
        return this.fail(`unexpected ${describe(t)}; expected a value, a field or a function`, t);
      case "punct":
        if (t.text === "(") {
          this.next();
          this.enter(t);
          const inner = this.expression();
          this.depth--;
          this.expect("punct", ")", "[)]");
          return inner;
        }
        if (t.text === "?") {
          this.next();
          const f = this.peek();
          if (f.kind !== "ident" && f.kind !== "qident") this.fail(`expected a field name after [?] but found ${describe(f)}`, f);
          if (f.kind === "ident" && f.tilde) this.fail("a field name cannot end with [~]", f);
          return this.field(t.start, true);
        }
        return this.fail(`unexpected ${describe(t)}; expected a value, a field or a function`, t);
      case "ident":
        if (this.peek(1).kind === "punct" && this.peek(1).text === "(" ) return this.call();
        if (t.tilde) this.fail(`expected [(] after the function name [${t.text}~]`, t);
        return this.field(t.start, false);
      case "qident":
        return this.field(t.start, false);
      case "eof":
        return this.fail("unexpected end of query; expected a value, a field or a function", t);
      default:
        return this.fail(`unexpected ${describe(t)}`, t);
    }
  }

  private call(): Expr {
    const nameTok = this.next();
    this.next(); // (
    this.enter(nameTok);
    const args: Expr[] = [];
    if (!this.is("punct", ")")) {
      args.push(this.expression());
      while (this.accept("punct", ",")) args.push(this.expression());
    }
    this.expect("punct", ")", "[)] to close the function call");
    this.depth--;
    return {
      kind: "Call",
      name: nameTok.text,
      caseInsensitive: nameTok.tilde === true,
      args,
      nameSpan: { start: nameTok.start, end: nameTok.end },
      span: this.span(nameTok.start),
    };
  }

  private field(start: number, optional: boolean): FieldRef {
    const path: string[] = [];
    const first = this.next();
    if (first.kind === "qident") path.push(first.text);
    else path.push(...first.text.split("."));
    // A backquoted segment can follow or precede a dot: process.`my field`.x
    while (this.is("punct", ".") && this.peek().start === this.tokens[this.pos - 1]!.end) {
      const after = this.peek(1);
      if ((after.kind !== "ident" && after.kind !== "qident") || after.start !== this.peek().end) break;
      this.next();
      const seg = this.next();
      if (seg.kind === "qident") path.push(seg.text);
      else path.push(...seg.text.split("."));
    }
    if (this.is("punct", "[") && this.peek().start === this.tokens[this.pos - 1]!.end) {
      this.fail("array indexes are not supported in field names", this.peek());
    }
    return { kind: "Field", path, name: path.join("."), optional, span: this.span(start) };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "the end of the query";
    case "string":
      return `string ${t.text.length > 40 ? t.text.slice(0, 40) + "..." : t.text}`;
    case "number":
      return `number [${t.text}]`;
    case "qident":
      return `[\`${t.text}\`]`;
    default:
      return `[${t.text}${t.kind === "ident" && t.tilde ? "~" : ""}]`;
  }
}
