/**
 * Expression semantics (DESIGN.md "Expression semantics"): missing fields, negation, arrays, case
 * sensitivity per operator, wildcards, Lucene regex and every function with its null behaviour.
 * Function examples follow the Elasticsearch EQL function reference.
 */
import { describe, expect, it } from "vitest";
import { compile, type Event } from "../lib/eql/index.js";

function test(condition: string, event: Event = {}, categoryField?: string): boolean {
  const r = compile(`any where ${condition}`, categoryField ? { categoryField } : {});
  if (!r.success) throw new Error(r.errors.map((e) => e.pretty()).join("\n"));
  return r.data.stages[0]!.matches(event);
}

const ev: Event = {
  process: {
    name: "MsiExec.EXE",
    pid: 4242,
    args: ["msiexec.exe", "/V", "/i", "http://x/a.msi"],
    command_line: 'msiexec.exe /V /i "http://x/a.msi"',
    code_signature: { trusted: false, subject_name: "Evil Corp" },
  },
  user: { id: "0" },
  source: { ip: "10.1.2.3" },
  destination: { ip: "2001:db8::1" },
  empty_list: [],
  nulls: [null, null],
  mixed: [null, "a"],
  str_num: "42",
  num: 42,
  float: 2.5,
  flag: true,
  flag_str: "false",
  "dotted.key": "dk",
  nested: { "inner.key": { leaf: "L" } },
  objs: [{ v: "one" }, { v: "two" }],
};

describe("missing and null fields", () => {
  it("makes comparisons and function tests false", () => {
    expect(test('missing == "x"', ev)).toBe(false);
    expect(test("missing < 1", ev)).toBe(false);
    expect(test('missing : "*"', ev)).toBe(false);
    expect(test('missing like "*"', ev)).toBe(false);
    expect(test('missing regex ".*"', ev)).toBe(false);
    expect(test('missing in ("x")', ev)).toBe(false);
    expect(test('startsWith(missing, "")', ev)).toBe(false);
    expect(test("length(missing) == 0", ev)).toBe(false);
  });

  it("makes their negations true (two-valued logic on top)", () => {
    expect(test('not missing == "x"', ev)).toBe(true);
    expect(test('missing != "x"', ev)).toBe(true);
    expect(test('missing not in ("x")', ev)).toBe(true);
    expect(test('not startsWith(missing, "")', ev)).toBe(true);
    expect(test('not missing : "*"', ev)).toBe(true);
  });

  it("tests presence with == null and != null", () => {
    expect(test("missing == null", ev)).toBe(true);
    expect(test("missing != null", ev)).toBe(false);
    expect(test("process.name != null", ev)).toBe(true);
    expect(test("null == process.name", ev)).toBe(false);
    expect(test("empty_list == null", ev)).toBe(true);
    expect(test("nulls == null", ev)).toBe(true);
    expect(test("mixed != null and mixed == \"a\"", ev)).toBe(true);
    expect(test("?missing == null", ev)).toBe(true);
  });

  it("the seed rule's negated signer clause is true for an unsigned child", () => {
    const clause = 'not (process.code_signature.subject_name == "Citrix Systems, Inc." and process.code_signature.trusted == true)';
    expect(test(clause, { process: { name: "evil.exe" } })).toBe(true);
    expect(test(clause, { process: { code_signature: { subject_name: "Citrix Systems, Inc.", trusted: true } } })).toBe(false);
    expect(test(clause, { process: { code_signature: { subject_name: "Citrix Systems, Inc.", trusted: false } } })).toBe(true);
  });

  it("a comparison on a missing value is null inside a value expression", () => {
    expect(test("null == (missing > -1)", ev)).toBe(true);
    expect(test("null == (num > -1)", ev)).toBe(false);
    expect(test("(missing > -1) == false", ev)).toBe(false);
  });
});

describe("arrays", () => {
  it("match if any element matches", () => {
    expect(test('process.args == "/V"', ev)).toBe(true);
    expect(test('process.args : "/v"', ev)).toBe(true);
    expect(test('process.args like "http*"', ev)).toBe(true);
    expect(test('process.args in ("/i", "/q")', ev)).toBe(true);
    expect(test('startsWith(process.args, "http")', ev)).toBe(true);
  });

  it("make != mean that no element equals", () => {
    expect(test('process.args != "/V"', ev)).toBe(false);
    expect(test('process.args != "/X"', ev)).toBe(true);
  });

  it("resolve through arrays of objects", () => {
    expect(test('objs.v == "two"', ev)).toBe(true);
    expect(test('objs.v == "three"', ev)).toBe(false);
  });
});

describe("field access", () => {
  it("reads literal dotted keys like nested objects", () => {
    expect(test('dotted.key == "dk"', ev)).toBe(true);
    expect(test('nested.inner.key.leaf == "L"', ev)).toBe(true);
    expect(test("`dotted.key` == \"dk\"", ev)).toBe(true);
  });

  it("never reads the prototype chain", () => {
    expect(test("constructor != null", ev)).toBe(false);
    expect(test("process.constructor.name == \"Object\"", ev)).toBe(false);
    expect(test("__proto__ != null", ev)).toBe(false);
    expect(test("toString == null", ev)).toBe(true);
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {"__proto__": {"b": "x"}}}') as Event;
    expect(test('__proto__.polluted == "yes"', hostile)).toBe(true); // an own key named __proto__ is just data
    expect(test('a.__proto__.b == "x"', hostile)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(test('polluted == "yes"', hostile)).toBe(false);
  });
});

describe("case sensitivity", () => {
  it("== in like regex and functions are case-sensitive", () => {
    expect(test('process.name == "msiexec.exe"', ev)).toBe(false);
    expect(test('process.name == "MsiExec.EXE"', ev)).toBe(true);
    expect(test('process.name in ("msiexec.exe")', ev)).toBe(false);
    expect(test('process.name like "msiexec*"', ev)).toBe(false);
    expect(test('process.name regex "msiexec.*"', ev)).toBe(false);
    expect(test('startsWith(process.name, "msi")', ev)).toBe(false);
    expect(test('endsWith(process.name, ".exe")', ev)).toBe(false);
    expect(test('stringContains(process.name, "exec")', ev)).toBe(false);
  });

  it(": like~ in~ regex~ and fn~ are case-insensitive", () => {
    expect(test('process.name : "msiexec.exe"', ev)).toBe(true);
    expect(test('process.name in~ ("msiexec.exe")', ev)).toBe(true);
    expect(test('process.name like~ "msiexec*"', ev)).toBe(true);
    expect(test('process.name regex~ "msiexec.*"', ev)).toBe(true);
    expect(test('startsWith~(process.name, "msi")', ev)).toBe(true);
    expect(test('endsWith~(process.name, ".exe")', ev)).toBe(true);
    expect(test('stringContains~(process.name, "EXEC")', ev)).toBe(true);
    expect(test('indexOf~(process.name, "exec") == 3', ev)).toBe(true);
    expect(test('between~(process.name, "msi", ".exe") == "Exec"', ev)).toBe(true);
  });
});

describe("wildcards", () => {
  it("* and ? are wildcards only in : and like", () => {
    expect(test('process.name : "msi*.exe"', ev)).toBe(true);
    expect(test('process.name : "msiexe?.exe"', ev)).toBe(true);
    expect(test('process.name : "msiexe?.ex"', ev)).toBe(false);
    expect(test('process.name == "msi*"', ev)).toBe(false);
    expect(test('process.name in ("MsiExec.*")', ev)).toBe(false);
    expect(test('startsWith(process.name, "M*")', ev)).toBe(false);
    expect(test('literal == "a*"', { literal: "a*" })).toBe(true);
  });

  it("backslashes are literal in patterns, as in Windows paths", () => {
    const e = { process: { executable: "C:\\Windows\\System32\\msiexec.exe" } };
    expect(test('process.executable : "?:\\\\Windows\\\\System32\\\\*.exe"', e)).toBe(true);
    expect(test('process.executable : "?:\\\\Windows\\\\SysWOW64\\\\*.exe"', e)).toBe(false);
    expect(test('process.executable : "C:\\\\Windows\\\\*\\\\msiexec.exe"', e)).toBe(true);
  });

  it("matches prefixes, suffixes and middles without overlap", () => {
    expect(test('v : "ab*ba"', { v: "aba" })).toBe(false);
    expect(test('v : "ab*ba"', { v: "abba" })).toBe(true);
    expect(test('v : "*a*b*c*"', { v: "xxaxxbxxcxx" })).toBe(true);
    expect(test('v : "*a*b*c*"', { v: "xxcxxbxxaxx" })).toBe(false);
    expect(test('v : "a?c*"', { v: "abcdef" })).toBe(true);
    expect(test('v : "*d?f"', { v: "abcdef" })).toBe(true);
    expect(test('v : "*d??f"', { v: "abcdef" })).toBe(false);
    expect(test('v : "?"', { v: "😀" })).toBe(true); // one code point
    expect(test('v : "*"', { v: "" })).toBe(true);
    expect(test('v : "?*"', { v: "" })).toBe(false);
  });

  it("matches numbers and booleans by their string form", () => {
    expect(test('num : "4*"', ev)).toBe(true);
    expect(test("num : 42", ev)).toBe(true);
    expect(test('flag : "TRUE"', ev)).toBe(true);
  });
});

describe("Lucene regex", () => {
  it("matches the whole string", () => {
    expect(test('v regex "b"', { v: "abc" })).toBe(false);
    expect(test('v regex ".*b.*"', { v: "abc" })).toBe(true);
    expect(test('v regex "[24][0-9]{3}"', { v: "4624" })).toBe(true);
    expect(test('v regex "[24][0-9]{3}"', { v: "46245" })).toBe(false);
  });

  it("treats ^ and $ as plain characters and . as any character including newline", () => {
    expect(test('v regex "^a$"', { v: "^a$" })).toBe(true);
    expect(test('v regex "^a$"', { v: "a" })).toBe(false);
    expect(test('v regex "a.c"', { v: "a\nc" })).toBe(true);
  });

  it("supports quoted strings, @, #, escapes and classes", () => {
    expect(test('v regex "\\"a.b\\"c"', { v: "a.bc" })).toBe(true);
    expect(test('v regex "\\"a.b\\"c"', { v: "axbc" })).toBe(false);
    expect(test('v regex "a@"', { v: "anything" })).toBe(true);
    expect(test('v regex "a#"', { v: "a" })).toBe(false);
    expect(test('v regex "a\\\\.b"', { v: "a.b" })).toBe(true);
    expect(test('v regex "[^a-c]+"', { v: "xyz" })).toBe(true);
    expect(test('v regex "[A-Za-z0-9\\\\-]+"', { v: "a-b" })).toBe(true);
    expect(test('v regex "\\\\d+"', { v: "123" })).toBe(true);
    expect(test('v regex ".*?(how|decrypt).*"', { v: "xxdecryptyy" })).toBe(true);
  });

  it("regex~ folds case", () => {
    expect(test('v regex~ "(AZURE|sharp)hound/.*"', { v: "AzureHound/1.0" })).toBe(true);
  });
});

describe("comparisons and types", () => {
  it("compares numbers, numeric strings and booleans without mappings", () => {
    expect(test("user.id == 0", ev)).toBe(true);
    expect(test('num == "42"', ev)).toBe(true);
    expect(test("str_num == 42", ev)).toBe(true);
    expect(test("str_num > 41", ev)).toBe(true);
    expect(test("float < 3", ev)).toBe(true);
    expect(test("flag == true", ev)).toBe(true);
    expect(test("flag_str == false", ev)).toBe(true);
    expect(test("process.code_signature.trusted == false", ev)).toBe(true);
    expect(test('process.name < "N"', ev)).toBe(true); // keyword order: "M..." < "N"
  });

  it("evaluates arithmetic with integer and decimal division", () => {
    expect(test("num / 5 == 8", ev)).toBe(true);
    expect(test("num / 5.0 == 8.4", ev)).toBe(true);
    expect(test("num % 5 == 2", ev)).toBe(true);
    expect(test("num + 1 * 2 == 44", ev)).toBe(true);
    expect(test("-num == -42", ev)).toBe(true);
    expect(test("num / 0 == null", ev)).toBe(true);
    expect(test("missing + 1 == null", ev)).toBe(true);
  });
});

describe("functions (Elasticsearch function reference)", () => {
  const cases: [string, Event?][] = [
    ["add(4, 5) == 9"],
    ["add(num, 1) == 43", ev],
    ["subtract(10, 2) == 8"],
    ["multiply(2, 2.5) == 5"],
    ["divide(4, 2) == 2"],
    ["divide(4, 3) == 1"],
    ["divide(4, 3.0) > 1.33"],
    ["modulo(10, 6) == 4"],
    ["modulo(-10, 6) == -4"],
    ['between("System32\\\\svchost.exe", "System32\\\\", ".exe") == "svchost"'],
    ['between("c:\\\\System32\\\\svchost.exe", "c", "e", false) == ":\\\\Syst"'],
    ['between("c:\\\\System32\\\\svchost.exe", "c", "e", true) == ":\\\\System32\\\\svchost.ex"'],
    ['between("abc", "x", "c") == ""'],
    ['between~("SYSTEM32\\\\svchost.exe", "system32\\\\", ".exe") == "svchost"'],
    ['cidrMatch(source.ip, "10.0.0.0/8")', ev],
    ['cidrMatch(source.ip, "192.168.0.0/16", "10.1.0.0/16")', ev],
    ['cidrMatch(destination.ip, "2001:db8::/32")', ev],
    ['not cidrMatch(destination.ip, "10.0.0.0/8")', ev],
    ['cidrMatch("::ffff:10.1.2.3", "10.0.0.0/8")'],
    ['not cidrMatch("not an ip", "0.0.0.0/0")'],
    ['concat("a", "b", 1) == "ab1"'],
    ['concat(process.pid, "-", num) == "4242-42"', ev],
    ['endsWith("regsvr32.exe", ".exe")'],
    ['not endsWith("regsvr32.exe", ".EXE")'],
    ['indexOf("abcabc", "c") == 2'],
    ['indexOf("abcabc", "c", 3) == 5'],
    ['indexOf("abc", "z") == null'],
    ['indexOf("abc", "") == 0'],
    ['length("regsvr32.exe") == 12'],
    ['length("") == 0'],
    ['number("1337") == 1337'],
    ['number("42.5") == 42.5'],
    ['number("0x1337", 16) == 4919'],
    ['number("ff", 16) == 255'],
    ['number("not a number") == null'],
    ['startsWith("regsvr32.exe", "regsvr32")'],
    ['string(42) == "42"'],
    ['string(true) == "true"'],
    ['stringContains("Hello World", "o W")'],
    ['substring("start regsvr32.exe", 6) == "regsvr32.exe"'],
    ['substring("start regsvr32.exe", 0, 5) == "start"'],
    ['substring("start regsvr32.exe", -4) == ".exe"'],
    ['substring("start regsvr32.exe", -4, -1) == ".ex"'],
    ['substring("abc", 5) == ""'],
  ];
  for (const [cond, event] of cases) {
    it(cond, () => {
      expect(test(cond, event ?? {})).toBe(true);
    });
  }

  it("returns null for a null argument", () => {
    for (const f of [
      "add(missing, 1)", "between(missing, \"a\", \"b\")", "concat(\"a\", missing)", "divide(missing, 1)", "endsWith(missing, \"a\")",
      "indexOf(missing, \"a\")", "length(missing)", "modulo(missing, 2)", "multiply(missing, 2)", "number(missing)",
      "startsWith(missing, \"a\")", "string(missing)", "stringContains(missing, \"a\")", "substring(missing, 1)", "subtract(missing, 1)",
      "cidrMatch(missing, \"10.0.0.0/8\")", "startsWith(\"abc\", missing)",
    ]) {
      expect(test(`${f} == null`, ev), f).toBe(true);
    }
  });
});

describe("categories", () => {
  it("matches the category in event.category, arrays included", () => {
    const r = compile('process where true');
    if (!r.success) throw new Error();
    const s = r.data.stages[0]!;
    expect(s.matches({ event: { category: ["process"] } })).toBe(true);
    expect(s.matches({ event: { category: "process" } })).toBe(true);
    expect(s.matches({ event: { category: ["network", "process"] } })).toBe(true);
    expect(s.matches({ event: { category: ["network"] } })).toBe(false);
    expect(s.matches({ event: {} })).toBe(false);
    expect(s.matches({})).toBe(false);
  });

  it("honours a category field override", () => {
    const r = compile("process where true", { categoryField: "event.type" });
    if (!r.success) throw new Error();
    expect(r.data.stages[0]!.matches({ event: { type: "process", category: "x" } })).toBe(true);
    expect(r.data.stages[0]!.matches({ event: { category: "process" } })).toBe(false);
  });

  it("lists the fields a query reads", () => {
    const r = compile('sequence by host.id [process where process.name : "a"] by process.entity_id [network where ?destination.ip != null] by process.entity_id');
    if (!r.success) throw new Error();
    expect([...r.data.fields].sort()).toEqual(["destination.ip", "event.category", "host.id", "process.entity_id", "process.name"]);
  });
});
