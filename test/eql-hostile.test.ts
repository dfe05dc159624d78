/**
 * Hostile input: attacker-sized fields and pathological patterns must be matched in linear time.
 * These are not timing tests: a backtracking or quadratic matcher would take hours on these
 * inputs (3 MB against patterns built to trigger backtracking), so finishing at all, within the
 * default test timeout, is the property. Speed itself is measured in `npm run bench`.
 */
import { describe, expect, it } from "vitest";
import { compile, compileWildcard, luceneToRe2, type Event } from "../lib/eql/index.js";

const MB3 = 3 * 1024 * 1024;
const aaa = "a".repeat(MB3);
const cmdline = "cmd /c " + '"x'.repeat(MB3 / 2); // 3 MB of quotes, as in an obfuscated command line

function test(condition: string, event: Event): boolean {
  const r = compile(`any where ${condition}`);
  if (!r.success) throw new Error(r.errors.map((e) => e.pretty()).join("\n"));
  return r.data.stages[0]!.matches(event);
}

describe("wildcards on a 3 MB field", () => {
  it("star-heavy patterns that defeat backtracking matchers", () => {
    expect(test('v : "*a*a*a*a*a*a*a*a*a*a*b"', { v: aaa })).toBe(false);
    expect(test('v like "a*a*a*a*a*a*a*a*a*a*ab"', { v: aaa })).toBe(false);
    expect(test('v : "*a?a?a?a?a?a?a?b*"', { v: aaa })).toBe(false);
    expect(test('v : "*a*a*a*a*a*a*a*a*a*a*"', { v: aaa })).toBe(true);
    expect(test('v : ("*.exe*x", "*b*", "?*?*?*?*?*?*?b")', { v: cmdline })).toBe(false);
  });

  it("lists of many patterns", () => {
    const pats = Array.from({ length: 200 }, (_, i) => `"*needle${i}*"`).join(", ");
    expect(test(`v : (${pats})`, { v: aaa })).toBe(false);
    expect(test(`v : (${pats})`, { v: aaa + "needle199" })).toBe(true);
  });

  it("a 3 MB pattern against a 3 MB value", () => {
    const m = compileWildcard("*" + "a?".repeat(MB3 / 4) + "*b");
    expect(m(aaa)).toBe(false);
  });
});

describe("regex on a 3 MB field", () => {
  it("nested quantifiers that make backtracking engines exponential", () => {
    expect(test('v regex "(a*)*b"', { v: aaa })).toBe(false);
    expect(test('v regex "(a|a)*b"', { v: aaa })).toBe(false);
    expect(test('v regex "(a+)+b"', { v: aaa })).toBe(false);
    expect(test('v regex~ "(A|AA)*B"', { v: aaa })).toBe(false);
  });

  it("the corpus' `.*` patterns over a long command line", () => {
    expect(test('v regex ".*\\\\.exe[^\\"].*"', { v: cmdline })).toBe(false);
    expect(test('v regex ".*[ ]{20,}.*"', { v: cmdline })).toBe(false);
    expect(test('v regex "([^ ]+[ ]{3,}[^ ]*){3,}.*"', { v: cmdline })).toBe(false);
    expect(test('v regex ".*[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}.*"', { v: cmdline + " 10.0.0.1" })).toBe(true);
  });

  it("never compiles to a backtracking RegExp", () => {
    // The translated pattern is RE2 syntax: no lookaround or backreference can appear.
    expect(luceneToRe2("(a*)*b")).toBe("(?:(?:(?:a)*))*b");
    expect(luceneToRe2('a\\1')).toBe("a1");
  });
});

describe("huge and odd values", () => {
  it("functions on a 3 MB string", () => {
    expect(test('length(v) == 3145728', { v: aaa })).toBe(true);
    expect(test('stringContains(v, "b")', { v: aaa })).toBe(false);
    expect(test('between(v, "a", "b") == ""', { v: aaa })).toBe(true);
    expect(test('indexOf~(v, "AB") == null', { v: aaa })).toBe(true);
  });

  it("NUL bytes, lone surrogates and deep nesting in events", () => {
    expect(test('v : "a\\u{00}*"', { v: "a\u0000b" })).toBe(true);
    expect(test('v : "*"', { v: "\ud800" })).toBe(true);
    expect(test('v : "?"', { v: "\udc00" })).toBe(true);
    let deep: unknown = "x";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(test('v == "x"', { v: deep })).toBe(false); // arrays nested beyond 32 levels are not read
    let obj: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) obj = { a: obj };
    expect(test("a.a.a.leaf == 1", obj)).toBe(false);
  });

  it("a field with a million array elements", () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => `arg${i}`);
    expect(test('v : "arg999999"', { v: big })).toBe(true);
    expect(test('v in ("nope")', { v: big })).toBe(false);
  });
});
