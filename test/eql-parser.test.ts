import { describe, expect, it } from "vitest";
import { compile, parse, type Expr, type Query } from "../lib/eql/index.js";

function ok(source: string): Query {
  const r = parse(source);
  if (!r.success) throw new Error(r.errors.map((e) => e.pretty()).join("\n"));
  return r.data;
}

function condition(source: string): Expr {
  const q = ok(source);
  if (q.kind !== "EventQuery") throw new Error("not an event query");
  return q.filter.condition;
}

function err(source: string): { message: string; pretty: string; line: number; column: number } {
  const r = parse(source);
  if (r.success) throw new Error(`expected an error for: ${source}`);
  const e = r.errors[0]!;
  return { message: e.message, pretty: e.pretty(), line: e.line, column: e.column };
}

describe("event queries", () => {
  it("parses a category and a condition", () => {
    const q = ok('process where process.name == "cmd.exe"');
    expect(q.kind).toBe("EventQuery");
    if (q.kind !== "EventQuery") return;
    expect(q.filter.category).toBe("process");
    expect(q.filter.condition).toMatchObject({
      kind: "Compare", op: "==",
      left: { kind: "Field", path: ["process", "name"], optional: false },
      right: { kind: "Literal", value: "cmd.exe" },
    });
    expect(q.filter.condition.span).toEqual({ start: 14, end: 39 });
  });

  it("parses `any where` and quoted categories", () => {
    const a = ok("any where true");
    expect(a.kind === "EventQuery" && a.filter.category).toBe(null);
    const b = ok('"process" where true');
    expect(b.kind === "EventQuery" && b.filter.category).toBe("process");
  });

  it("gives `not` lower precedence than comparisons and higher than `and`", () => {
    expect(condition("any where not a == 1 and b")).toMatchObject({
      kind: "Logical", op: "and",
      left: { kind: "Not", operand: { kind: "Compare", op: "==" } },
      right: { kind: "Field", name: "b" },
    });
  });

  it("gives `and` precedence over `or`", () => {
    expect(condition("any where a or b and c")).toMatchObject({
      kind: "Logical", op: "or", left: { name: "a" }, right: { kind: "Logical", op: "and" },
    });
  });

  it("parses arithmetic with precedence and unary minus", () => {
    expect(condition("any where a + b * 2 == -3")).toMatchObject({
      kind: "Compare",
      left: { kind: "Arith", op: "+", left: { name: "a" }, right: { kind: "Arith", op: "*" } },
      right: { kind: "Literal", value: -3 },
    });
    expect(condition("any where 1 - 2 - 3 == 0")).toMatchObject({
      left: { kind: "Arith", op: "-", left: { kind: "Arith", op: "-" }, right: { value: 3 } },
    });
    expect(condition("any where -a == 1")).toMatchObject({ left: { kind: "Negate", operand: { name: "a" } } });
    expect(condition("any where a % 2 == 4.5")).toMatchObject({ right: { value: 4.5, decimal: true } });
  });

  it("parses every predicate operator", () => {
    expect(condition('any where a : "x*"')).toMatchObject({ kind: "Match", op: ":", caseInsensitive: true, patterns: [{ value: "x*" }] });
    expect(condition('any where a : ("x", "y")')).toMatchObject({ kind: "Match", op: ":", patterns: [{ value: "x" }, { value: "y" }] });
    expect(condition('any where a like "x"')).toMatchObject({ kind: "Match", op: "like", caseInsensitive: false });
    expect(condition('any where a like~ ("x", "y")')).toMatchObject({ kind: "Match", op: "like", caseInsensitive: true });
    expect(condition('any where a regex ".*"')).toMatchObject({ kind: "Match", op: "regex", caseInsensitive: false });
    expect(condition('any where a regex~ ".*"')).toMatchObject({ kind: "Match", op: "regex", caseInsensitive: true });
    expect(condition('any where a in ("x", 1)')).toMatchObject({ kind: "In", negated: false, caseInsensitive: false, values: [{ value: "x" }, { value: 1 }] });
    expect(condition('any where a in~ ("x")')).toMatchObject({ kind: "In", caseInsensitive: true });
    expect(condition('any where a not in ("x")')).toMatchObject({ kind: "In", negated: true });
    expect(condition('any where a not in~ ("x")')).toMatchObject({ kind: "In", negated: true, caseInsensitive: true });
    for (const op of ["==", "!=", "<", "<=", ">", ">="]) {
      expect(condition(`any where a ${op} 1`)).toMatchObject({ kind: "Compare", op });
    }
  });

  it("parses optional and backquoted fields", () => {
    expect(condition("any where ?process.pid == 1")).toMatchObject({ left: { kind: "Field", optional: true, path: ["process", "pid"] } });
    expect(condition("any where `my field`.`x``y`.z == 1")).toMatchObject({ left: { path: ["my field", "x`y", "z"] } });
    expect(condition("any where @timestamp > 0")).toMatchObject({ left: { path: ["@timestamp"] } });
    expect(condition("any where winlog.event_data.1Param == 1")).toMatchObject({ left: { path: ["winlog", "event_data", "1Param"] } });
  });

  it("parses functions case-insensitively with `~` variants", () => {
    expect(condition('any where cidrmatch(ip, "10.0.0.0/8")')).toMatchObject({ kind: "Call", name: "cidrmatch", caseInsensitive: false });
    expect(condition('any where startsWith~(a, "x")')).toMatchObject({ kind: "Call", name: "startsWith", caseInsensitive: true, args: [{ name: "a" }, { value: "x" }] });
    expect(condition('any where CONCAT(a) : "x"')).toMatchObject({ kind: "Match", target: { kind: "Call", name: "CONCAT" } });
  });

  it("unescapes strings, keeps raw strings verbatim, and skips comments", () => {
    expect(condition('any where a == "t\\tn\\nr\\rq\\"s\\\'b\\\\u\\u{41}\\u{1F600}"')).toMatchObject({
      right: { value: "t\tn\nr\rq\"s'b\\uA\u{1F600}" },
    });
    expect(condition('any where a == """C:\\Windows\\"x"""')).toMatchObject({ right: { value: 'C:\\Windows\\"x' } });
    expect(condition('any where a == ?"C:\\W"')).toMatchObject({ right: { value: "C:\\W" } });
    expect(condition("any where // line comment\n /* block \n comment */ a == 1")).toMatchObject({ kind: "Compare" });
  });

  it("parses a block comment that hides text, as in the corpus", () => {
    const q = ok("sequence by host.id\n  [process where true] /* with runs=5 */\n  [process where true]");
    expect(q.kind === "Sequence" && q.stages.map((s) => s.runs)).toEqual([null, null]);
  });
});

describe("sequences and samples", () => {
  it("parses shared and per-stage keys, maxspan, missing stages and until", () => {
    const q = ok(`sequence by host.id with maxspan=1m
      [process where a == 1] by process.entity_id
      ![network where true] by process.entity_id
      [process where b] by process.parent.entity_id with runs=3
    until [process where event.type == "end"] by process.entity_id`);
    if (q.kind !== "Sequence") throw new Error(q.kind);
    expect(q.by).toMatchObject([{ name: "host.id" }]);
    expect(q.maxspan).toMatchObject({ value: 1, unit: "m", millis: 60_000 });
    expect(q.stages.map((s) => [s.missing, s.runs, s.by.map((b) => (b as { name: string }).name)])).toEqual([
      [false, null, ["process.entity_id"]],
      [true, null, ["process.entity_id"]],
      [false, 3, ["process.parent.entity_id"]],
    ]);
    expect(q.until?.filter.category).toBe("process");
  });

  it("reads every time unit", () => {
    const units: Record<string, number> = { "500ms": 500, "10s": 10_000, "3m": 180_000, "12h": 43_200_000, "1d": 86_400_000 };
    for (const [text, ms] of Object.entries(units)) {
      const q = ok(`sequence with maxspan=${text} [a where true] [b where true]`);
      expect(q.kind === "Sequence" && q.maxspan?.millis).toBe(ms);
    }
  });

  it("parses sample by", () => {
    const q = ok("sample by host [a where true] by x [b where true] by y");
    expect(q.kind).toBe("Sample");
    expect(q.kind === "Sample" && q.stages.length).toBe(2);
  });

  it("parses head and tail pipes", () => {
    const q = ok("process where true | head 5 | tail 2");
    expect(q.pipes.map((p) => [p.name, p.count])).toEqual([["head", 5], ["tail", 2]]);
  });
});

describe("syntax errors name the line and column and show the text with a caret", () => {
  it("points at `=`", () => {
    const e = err('process where\n  process.name = "x"');
    expect(e.message).toBe("use [==] to compare values, not [=] (2:16)");
    expect(e.pretty).toBe('use [==] to compare values, not [=] (2:16)\n  process.name = "x"\n               ^');
  });

  it("reports unterminated strings and comments", () => {
    expect(err('any where a == "abc').message).toBe("unterminated string (1:16)");
    expect(err("any where a == 1 /* x").message).toBe("unterminated block comment (1:18)");
    expect(err('any where a == """x').message).toBe("unterminated raw string (1:16)");
  });

  it("rejects single quotes, bad escapes and bad unicode escapes", () => {
    expect(err("any where a == 'x'").message).toBe("single quotes are not supported; use double quotes to define a string (1:16)");
    expect(err('any where a == "\\q"').message).toMatch(/^illegal escape sequence \[\\q\].* \(1:17\)$/);
    expect(err('any where a == "\\u{110000}"').message).toMatch(/^invalid unicode code point/);
    expect(err('any where a == "\\u0041"').message).toMatch(/^invalid unicode escape/);
  });

  it("reports a missing `where`, category, or closing bracket", () => {
    expect(err("process a == 1").message).toBe("expected [where] after the event category but found [a] (1:9)");
    expect(err("where a == 1").message).toBe("expected an event category (or [any]) before [where] (1:1)");
    expect(err("sequence [a where true [b where true]").message).toBe("expected []] to close the stage but found [[] (1:24)");
    expect(err("any where (a == 1").message).toBe("expected [)] but found the end of the query (1:18)");
  });

  it("rejects chained comparisons, unsupported pipes and join", () => {
    expect(err("any where a == b == c").message).toBe("comparisons cannot be chained; use [and] between them (1:18)");
    expect(err("any where true | unique a").message).toBe("pipe [unique] is not supported; supported pipes are [head] and [tail] (1:18)");
    expect(err("join [a where true] [b where true]").message).toBe("join is not supported; use a sequence (1:1)");
  });

  it("rejects a time span without a known unit and keys after maxspan", () => {
    expect(err("sequence with maxspan=10 [a where true] [b where true]").message).toBe(
      "a time unit is required after [10]; use one of [ms, s, m, h, d] (1:23)",
    );
    expect(err("sequence with maxspan=10y [a where true] [b where true]").message).toBe(
      "unknown time unit [y]; use one of [ms, s, m, h, d] (1:25)",
    );
    expect(err("sequence with maxspan=1m by a [a where true] [b where true]").message).toBe(
      "specify the sequence [by] keys before [with maxspan] (1:26)",
    );
  });

  it("rejects unknown characters and trailing input", () => {
    expect(err("any where a == 1 #").message).toBe("unexpected character [#] (1:18)");
    expect(err("any where a == 1 b").message).toBe("unexpected [b] after the end of the query (1:18)");
  });

  it("turns deep nesting into an error instead of a stack overflow", () => {
    const deep = "any where " + "(".repeat(5000) + "a" + ")".repeat(5000);
    expect(err(deep).message).toMatch(/^expression nested too deeply/);
    const nots = "any where " + "not ".repeat(5000) + "a";
    expect(err(nots).message).toMatch(/^expression nested too deeply/);
  });

  it("turns an enormous chain of terms into an error, never a crash", () => {
    for (const op of ["and", "or"]) {
      const q = "any where " + Array.from({ length: 30_000 }, (_, i) => `a == ${i}`).join(` ${op} `);
      const r = compile(q);
      if (r.success) expect(typeof r.data.stages[0]!.matches({ a: 1 })).toBe("boolean");
      else expect(r.errors[0]!.message).toMatch(/too deeply nested or too long/);
    }
  });
});

describe("validation", () => {
  const cases: [string, string][] = [
    ["any where foo(a)", "unknown function [foo] (1:11)"],
    ["any where lenght(a) > 1", "unknown function [lenght]; did you mean [length]? (1:11)"],
    ["any where length(a, b) > 1", "function [length] takes 1 argument, found 2 (1:11)"],
    ["any where substring(a)", "function [substring] takes 2 to 3 arguments, found 1 (1:11)"],
    ["any where cidrMatch(a)", "function [cidrMatch] takes at least 2 arguments, found 1 (1:11)"],
    ["any where length~(a) > 1", "function [length] has no case-insensitive [~] variant (1:11)"],
    ['any where cidrMatch(a, "10.0.0.0/33")', "invalid CIDR block [10.0.0.0/33] (1:24)"],
    ["any where cidrMatch(a, b)", "argument 2 of [cidrMatch] must be a constant (1:24)"],
    ['any where a regex "a(b"', 'invalid regex "a(b": unclosed group ( (1:19)'],
    ["any where a like 1", "[like] needs string patterns, found [1] (1:18)"],
    ["any where a : null", "[:] cannot match null; use [== null] (1:15)"],
    ["sequence [a where true]", "a sequence needs at least 2 stages (or a stage [with runs=N]), found 1 (1:1)"],
    ["sequence [a where true] with runs=0 [b where true]", "[runs] must be an integer from 1 to 100, found [0] (1:25)"],
    ["sequence [a where true] with runs=101 [b where true]", "[runs] must be an integer from 1 to 100, found [101] (1:25)"],
    ["sequence [a where true] ![b where true]", "a sequence with missing-event stages ![...] needs [with maxspan=...] (1:25)"],
    ["sequence with maxspan=1m ![a where true] ![b where true]", "a sequence needs at least one stage that is not a missing-event stage (1:1)"],
    ["sequence [a where true] by x [b where true] by x, y", "inconsistent number of join keys: the first stage has 1 but this stage has 2 (1:30)"],
    ["sample [a where true] [b where true]", "a sample needs join keys: [sample by ...] or [...] by ... (1:1)"],
    ["sequence with maxspan=0s [a where true] [b where true]", "[maxspan] must be positive, found [0s] (1:23)"],
  ];
  for (const [source, message] of cases) {
    it(message, () => {
      expect(err(source).message).toBe(message);
    });
  }

  it("accepts a single stage with runs, as the corpus writes", () => {
    expect(parse("sequence by host.id with maxspan=1m [process where true] with runs=5").success).toBe(true);
  });

  it("reports every problem, in source order", () => {
    const r = parse("any where foo(a) and bar(b) and length(a, b) > 1");
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.errors.map((e) => e.reason)).toEqual([
      "unknown function [foo]", "unknown function [bar]", "function [length] takes 1 argument, found 2",
    ]);
  });
});
