/**
 * Properties: the parser never throws anything but a result for any input and never hangs;
 * printing an AST and parsing it again gives the same AST; compiled predicates never throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, FUNCTION_NAMES, parse, printExpr, type Expr } from "../lib/eql/index.js";
import { parseExpression } from "../lib/eql/parser.js";

const NUM_RUNS = 400;

/** Removes spans so that trees from different texts compare equal. */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x && typeof x === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (k !== "span" && k !== "nameSpan") out[k] = strip(v);
    return out;
  }
  return x;
}

const sp = { start: 0, end: 0 };
const segment = fc.oneof(
  fc.constantFrom("process", "name", "args", "entity_id", "@timestamp", "a", "b1", "_x"),
  fc.string({ minLength: 1, maxLength: 6 }), // backquoted when not a plain identifier
);
const field: fc.Arbitrary<Expr> = fc
  .record({ path: fc.array(segment, { minLength: 1, maxLength: 3 }), optional: fc.boolean() })
  .map(({ path, optional }) => ({ kind: "Field", path, name: path.join("."), optional, span: sp }));
const str = fc.string({ unit: "binary", maxLength: 12 });
const literal: fc.Arbitrary<Expr> = fc.oneof(
  str.map((value) => ({ kind: "Literal", value, span: sp }) as Expr),
  fc.integer({ min: -1000, max: 1000 }).map((value) => ({ kind: "Literal", value, span: sp }) as Expr),
  fc.constantFrom(true, false, null).map((value) => ({ kind: "Literal", value, span: sp }) as Expr),
);
const strLit = fc.string({ unit: "grapheme-ascii", maxLength: 8 }).map((value) => ({ kind: "Literal" as const, value, span: sp }));

const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal,
    field,
    fc.record({ kind: fc.constant("Not" as const), operand: tie("expr"), span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("Logical" as const), op: fc.constantFrom("and" as const, "or" as const), left: tie("expr"), right: tie("expr"), span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("Compare" as const), op: fc.constantFrom("==" as const, "!=" as const, "<" as const, "<=" as const, ">" as const, ">=" as const), left: tie("expr"), right: tie("expr"), span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("Arith" as const), op: fc.constantFrom("+" as const, "-" as const, "*" as const, "/" as const, "%" as const), left: tie("expr"), right: tie("expr"), span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("Negate" as const), operand: field, span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("In" as const), target: tie("expr"), values: fc.array(tie("expr"), { minLength: 1, maxLength: 3 }), caseInsensitive: fc.boolean(), negated: fc.boolean(), span: fc.constant(sp) }),
    fc.record({ kind: fc.constant("Match" as const), op: fc.constantFrom(":" as const, "like" as const), caseInsensitive: fc.boolean(), target: tie("expr"), patterns: fc.array(strLit, { minLength: 1, maxLength: 3 }), span: fc.constant(sp) })
      .map((m) => (m.op === ":" ? { ...m, caseInsensitive: true } : m)),
    fc.record({ kind: fc.constant("Call" as const), name: fc.constantFrom(...FUNCTION_NAMES), caseInsensitive: fc.boolean(), args: fc.array(tie("expr"), { maxLength: 3 }), nameSpan: fc.constant(sp), span: fc.constant(sp) }),
  ),
}));

describe("parse-print round trip", () => {
  it("parse(print(ast)) == ast", () => {
    fc.assert(
      fc.property(expr, (e) => {
        const printed = printExpr(e);
        expect(strip(parseExpression(printed)), printed).toEqual(strip(e));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

const VOCAB = [
  "sequence", "sample", "by", "with", "maxspan", "=", "1m", "runs", "until", "[", "]", "![", "(", ")", ",", "any",
  "process", "where", "and", "or", "not", "in", "in~", ":", "like", "like~", "regex", "regex~", "==", "!=", "<",
  ">=", "+", "-", "*", "/", "%", "|", "head", "tail", "5", "1.5", '"x*"', '"""raw"""', "?", "a.b", "`q`", "true",
  "null", "length(", "cidrMatch(", "startsWith~(", "/*", "*/", "//", "\n", '"\\u{41}"', '"\\', "'", "~", ".",
];

describe("fuzzing the parser", () => {
  it("returns a result for random text, never throws", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
        const r = parse(s);
        expect(typeof r.success).toBe("boolean");
      }),
      { numRuns: NUM_RUNS * 5 },
    );
  });

  it("returns a result for random token soup, never throws", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VOCAB), { maxLength: 60 }), (toks) => {
        const r = parse(toks.join(" "));
        if (!r.success) for (const e of r.errors) expect(e.message).toMatch(/\(\d+:\d+\)$/);
      }),
      { numRuns: NUM_RUNS * 5 },
    );
  });

  it("compiled predicates never throw on random events", () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const event = fc.dictionary(fc.constantFrom("process", "a", "b1", "_x", "name", "__proto__", "constructor"), json);
    fc.assert(
      fc.property(expr, event, (e, ev) => {
        const r = compile(`any where ${printExpr(e)}`);
        if (!r.success) return; // e.g. unknown arity: validation errors are fine
        const result = r.data.stages[0]!.matches(ev as Record<string, unknown>);
        expect(typeof result).toBe("boolean");
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
