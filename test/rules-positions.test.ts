// EQL errors are reported at the line and column of the TOML file, for every TOML string form.
import fc from "fast-check";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { checkRule, locateQuery, parseRule, type RuleCheck, type RuleQueryError } from "../lib/rules/index.js";
import { ruleToml } from "./fixtures/detection-rules/samples.js";

function check(text: string, file = "rules/x.toml"): RuleCheck {
  const result = parseRule(text, file);
  if (!result.success) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return checkRule(result.rule);
}

function queryErrors(text: string): RuleQueryError[] {
  const result = check(text);
  if (result.status !== "failed") throw new Error(`expected a failed compile, got ${result.status}`);
  return [...result.errors];
}

/** 1-based line of the first line of `text` that starts with `prefix`. */
function lineOf(text: string, prefix: string): number {
  const index = text.split("\n").findIndex((l) => l.startsWith(prefix));
  if (index < 0) throw new Error(`no line starts with ${prefix}`);
  return index + 1;
}

describe("query error positions in the rule file", () => {
  it("maps an error on line 3 of a ''' literal query to the file line and column", () => {
    const text = ruleToml({
      query: ["'''", "sequence by host.id with maxspan=1m", "  [process where true]", "  [network where process.name == ]", "'''"].join("\n"),
    });
    const [error, ...rest] = queryErrors(text);
    expect(rest).toEqual([]);
    // The newline after ''' is not part of the query, so query line 3 is 3 lines below `query = '''`.
    const line = lineOf(text, "query = '''") + 3;
    expect(error).toMatchObject({ file: "rules/x.toml", line, column: 34, located: true });
    expect(error!.cause.line).toBe(3);
    expect(error!.cause.column).toBe(34);
    expect(text.split("\n")[line - 1]![33]).toBe("]");
    expect(text.slice(error!.span.start, error!.span.end)).toBe("]");
    expect(error!.message).toBe(
      `rules/x.toml:${line}:34: EQL syntax error: unexpected []]; expected a value, a field or a function`,
    );
  });

  it("maps a validation error, keeping backslashes of literal strings literal", () => {
    const text = ruleToml({
      query: ["'''", 'process where process.executable : "C:\\\\Windows\\\\*.exe" and', "  nosuchfn(process.name)", "'''"].join("\n"),
    });
    const [error] = queryErrors(text);
    expect(error).toMatchObject({ line: lineOf(text, "  nosuchfn"), column: 3 });
    expect(error!.reason).toBe("EQL validation error: unknown function [nosuchfn]");
    expect(text.slice(error!.span.start, error!.span.end)).toBe("nosuchfn");
  });

  it("maps through escapes of a one-line basic string", () => {
    const raw = 'query = "process where process.name == \\"a\\\\\\\\b\\u00e9\\U0001F600\\" and bogus(x)"';
    const text = ruleToml({ query: raw.slice("query = ".length) });
    expect(parseToml(text)["rule"]).toMatchObject({ query: 'process where process.name == "a\\\\bé😀" and bogus(x)' });
    const [error] = queryErrors(text);
    // The query column is smaller than the file column: each escape is several characters in the file.
    expect(error!.cause.column).toBe(45);
    expect(error).toMatchObject({ line: lineOf(text, "query = "), column: raw.indexOf("bogus") + 1 });
    expect(text.slice(error!.span.start, error!.span.end)).toBe("bogus");
  });

  it('maps a """ basic string with line-ending backslashes', () => {
    const text = ruleToml({
      query: ['"""', "process where \\", '    process.name == "x" and \\', "    nosuchfn(process.name)", '"""'].join("\n"),
    });
    const [error] = queryErrors(text);
    expect(error!.cause.line).toBe(1);
    expect(error).toMatchObject({ line: lineOf(text, "    nosuchfn"), column: 5 });
  });

  it("maps an error at the end of the query to the closing delimiter", () => {
    const text = ruleToml({ query: "'''\nprocess where process.name == \"x\" and\n  (process.args : \"*\"'''" });
    const [error] = queryErrors(text);
    const line = lineOf(text, '  (process.args : "*"');
    expect(error).toMatchObject({ line, column: '  (process.args : "*"'.length + 1 });
    expect(error!.reason).toBe("EQL syntax error: expected [)] but found the end of the query");
  });

  it("handles CRLF line endings", () => {
    const text = ruleToml({ query: "'''\nprocess where true and\n  nosuchfn(x)\n'''" }).replace(/\n/g, "\r\n");
    const [error] = queryErrors(text);
    expect(error).toMatchObject({ line: lineOf(text.replace(/\r\n/g, "\n"), "  nosuchfn"), column: 3 });
  });

  it("finds the rule's query, not an osquery query or a look-alike inside the note", () => {
    // Both look-alikes come before the real query and decode to the very same text.
    const before = ["[[transform.osquery]]", 'label = "x"', "query = '''", "process where nosuchfn(x)", "'''", ""].join("\n");
    const note = ['"""', "query = '''", "process where nosuchfn(x)", "'''", '"""'].join("\n");
    const text = ruleToml({ before, rule: { note }, query: "'''\nprocess where nosuchfn(x)\n'''" });
    const lines = text.split("\n");
    const candidates = lines.flatMap((l, n) => (l === "process where nosuchfn(x)" ? [n + 1] : []));
    expect(candidates).toHaveLength(3);
    const [error] = queryErrors(text);
    expect(error).toMatchObject({ line: candidates[2], column: 15 });
  });

  it("falls back to 1:1 and the query position when the query cannot be located", () => {
    // An inline [rule] table: the query key is not at the start of a line.
    const rule = [
      'rule_id = "r"', 'name = "n"', 'description = "d"', 'type = "eql"', 'language = "eql"', 'severity = "low"',
      "risk_score = 1", "author = []", 'license = "l"', 'query = "process where\\n nosuchfn(x)"',
    ].join(", ");
    const text = `metadata = { creation_date = "2024/01/01", updated_date = "2024/01/01", maturity = "production" }\nrule = { ${rule} }\n`;
    const [error] = queryErrors(text);
    expect(error).toMatchObject({ line: 1, column: 1, located: false });
    expect(error!.message).toBe(
      "rules/x.toml:1:1: EQL validation error: unknown function [nosuchfn] (query line 2, column 2; the query could not be located in the file)",
    );
  });
});

describe("locateQuery agrees with smol-toml on every string form", () => {
  // Characters that stress the decoders: quotes, backslashes, newlines, tabs, non-ASCII, astral.
  const unit = fc.constantFrom("a", "Z", " ", "\t", "\n", "\r\n", '"', "'", "\\", "é", "😀", "\u0001", "\u007f", "=");
  const queries = fc.string({ unit, maxLength: 40 });

  const escapeBasic = (q: string, multiline: boolean): string =>
    [...q]
      .map((c, i) => {
        if (c === "\\") return "\\\\";
        if (c === '"') return '\\"';
        if (multiline && c === "\n") return "\n";
        if (c === "\n") return "\\n";
        if (c === "\t") return i % 2 === 0 ? "\t" : "\\t";
        if (c === "\r") return "\\r";
        const code = c.codePointAt(0)!;
        if (code < 0x20 || code === 0x7f) return `\\u${code.toString(16).padStart(4, "0")}`;
        if (code > 0xffff) return `\\U${code.toString(16).padStart(8, "0")}`;
        return c;
      })
      .join("");

  const encoders: Record<string, (q: string) => string | null> = {
    "multiline-literal": (q) =>
      q.includes("'''") || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(q.replace(/\r\n/g, "\n")) ? null : `'''\n${q}'''`,
    literal: (q) => (/['\u0000-\u0008\u000a-\u001f\u007f]/.test(q) ? null : `'${q}'`),
    basic: (q) => `"${escapeBasic(q, false)}"`,
    "multiline-basic": (q) => `"""\n${escapeBasic(q, true)}"""`,
  };

  for (const [style, encode] of Object.entries(encoders)) {
    it(`${style} strings`, () => {
      fc.assert(
        fc.property(queries, (q) => {
          const encoded = encode(q);
          fc.pre(encoded !== null);
          const text = ruleToml({ query: encoded });
          const query = (parseToml(text)["rule"] as { query: string }).query;
          expect(query).toBe(q);
          const location = locateQuery(text, query);
          expect(location?.style).toBe(style);
          let previous = -1;
          for (let i = 0; i < query.length; i++) {
            const at = location!.fileOffset(i);
            expect(at).toBeGreaterThanOrEqual(previous);
            previous = at;
            if (style.endsWith("literal")) expect(text[at]).toBe(query[i]);
            else expect([query[i], "\\"]).toContain(text[at]);
          }
          expect(location!.fileOffset(query.length)).toBeGreaterThanOrEqual(previous);
        }),
        { numRuns: 300 },
      );
    });
  }
});
