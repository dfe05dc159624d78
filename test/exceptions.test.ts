/**
 * Exception list items: parsing (NDJSON / JSON, errors naming file, line, item and field),
 * entry semantics, os_types, expiry, and properties (excluded is the negation of included).
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileWildcard, type Event } from "../lib/eql/index.js";
import {
  compileEsWildcard, compileExceptionItem, compileExceptions, ExceptionLoadError, parseExceptionFile, type LoadedExceptionItem,
} from "../lib/rules/index.js";
import { jsonErrorOffset } from "../lib/rules/exceptions.js";
import { seedAttack } from "./helpers/seed-attack.js";

const FIXTURES = new URL("./fixtures/exceptions/", import.meta.url).pathname;
const NOW = Date.parse("2026-06-01T00:00:00Z");

let seq = 0;
/** An item from entries, loaded as if from `test.json`. */
function item(entries: unknown[], extra: Record<string, unknown> = {}): LoadedExceptionItem {
  const raw = { item_id: `item-${++seq}`, list_id: "l", type: "simple", name: "t", entries, ...extra };
  const parsed = parseExceptionFile(JSON.stringify(raw), "test.json");
  if (parsed.errors.length > 0) throw parsed.errors[0];
  return parsed.items[0]!;
}

/** The predicate of one item's entries. */
function matcher(entries: unknown[], extra: Record<string, unknown> = {}): (event: Event, now?: number) => boolean {
  const { exceptions, errors } = compileExceptions([item(entries, extra)]);
  if (errors.length > 0) throw errors[0];
  return (event, now = NOW) => exceptions.match(event, now) !== null;
}

const m = (field: string, value: string, operator = "included") => ({ field, operator, type: "match", value });
const any = (field: string, value: string[], operator = "included") => ({ field, operator, type: "match_any", value });
const wc = (field: string, value: string, operator = "included") => ({ field, operator, type: "wildcard", value });
const ex = (field: string, operator = "included") => ({ field, operator, type: "exists" });
const nested = (field: string, entries: unknown[]) => ({ field, type: "nested", entries });

function errorsOf(text: string, file = "x.ndjson"): string[] {
  return parseExceptionFile(text, file).errors.map((e) => e.message);
}

describe("parseExceptionFile", () => {
  it("reads a Kibana NDJSON export: list, items, export summary skipped", () => {
    const file = `${FIXTURES}initial_access_execution_remote_via_msiexec.exceptions.ndjson`;
    const parsed = parseExceptionFile(readFileSync(file, "utf8"), file);
    expect(parsed.errors).toEqual([]);
    expect(parsed.lists.map((l) => [l.list.list_id, l.list.type, l.source.line])).toEqual([["msiexec-remote-exec-rule-default", "rule_default", 1]]);
    expect(parsed.items.map((i) => [i.item.item_id, i.source.line])).toEqual([
      ["pdq-deploy-runner", 2],
      ["ivanti-agent-updates", 3],
      ["sccm-service-accounts", 4],
      ["erp-migration-temporary", 5],
    ]);
  });

  it("reads a JSON array, a single object and an API page", () => {
    const file = `${FIXTURES}corp-software-deployment.exceptions.json`;
    const parsed = parseExceptionFile(readFileSync(file, "utf8"), file);
    expect(parsed.errors).toEqual([]);
    expect(parsed.lists).toHaveLength(1);
    expect(parsed.items.map((i) => [i.item.item_id, i.source.record])).toEqual([
      ["ccmexec-installs", 1],
      ["chocolatey-packages", 2],
      ["linux-config-mgmt", 3],
    ]);
    const one = { item_id: "a", list_id: "l", entries: [m("user.name", "x")] };
    expect(parseExceptionFile(JSON.stringify(one), "one.json").items).toHaveLength(1);
    const page = { data: [one, { ...one, item_id: "b" }], page: 1, per_page: 20, total: 2 };
    expect(parseExceptionFile(JSON.stringify(page), "page.json").items.map((i) => i.item.item_id)).toEqual(["a", "b"]);
  });

  it("reads NDJSON saved as .json, with CRLF, a BOM and blank lines", () => {
    const a = JSON.stringify({ item_id: "a", list_id: "l", entries: [m("user.name", "x")] });
    const b = JSON.stringify({ item_id: "b", list_id: "l", entries: [m("user.name", "y")] });
    const parsed = parseExceptionFile(`\ufeff${a}\r\n\r\n${b}\r\n`, "renamed.json");
    expect(parsed.errors).toEqual([]);
    expect(parsed.items.map((i) => [i.item.item_id, i.source.line])).toEqual([["a", 1], ["b", 3]]);
  });

  it("defaults type to simple and os_types to [], keeps unknown keys", () => {
    const parsed = parseExceptionFile(JSON.stringify({ item_id: "a", list_id: "l", entries: [ex("user.name")], os_types: null, meta: { x: 1 } }), "a.json");
    const it0 = parsed.items[0]!.item;
    expect(it0.type).toBe("simple");
    expect(it0.os_types).toEqual([]);
    expect((it0 as Record<string, unknown>)["meta"]).toEqual({ x: 1 });
  });

  it("skips rule objects of a Kibana rule export", () => {
    const rule = JSON.stringify({ rule_id: "r", name: "n", exceptions_list: [] });
    const itemLine = JSON.stringify({ item_id: "a", list_id: "l", entries: [ex("user.name")] });
    const parsed = parseExceptionFile(`${rule}\n${itemLine}\n`, "export.ndjson");
    expect(parsed.errors).toEqual([]);
    expect(parsed.items).toHaveLength(1);
  });

  it("reports each bad record with file, line, item id and field, and keeps the good ones", () => {
    const good = JSON.stringify({ item_id: "good", list_id: "l", entries: [m("user.name", "x")] });
    const lines = [
      good,
      "{not json",
      JSON.stringify({ item_id: "no-entries", list_id: "l" }),
      JSON.stringify({ item_id: "bad-op", list_id: "l", entries: [m("user.name", "x", "is")] }),
      JSON.stringify({ item_id: "bad-type", list_id: "l", entries: [{ field: "a", operator: "included", type: "regex", value: "x" }] }),
      JSON.stringify({ item_id: "empty-value", list_id: "l", entries: [m("user.name", "")] }),
      JSON.stringify({ item_id: "any-not-array", list_id: "l", entries: [{ field: "a", operator: "included", type: "match_any", value: "x" }] }),
      JSON.stringify({ item_id: "bad-field", list_id: "l", entries: [m("process..name", "x")] }),
      JSON.stringify({ item_id: "bad-expiry", list_id: "l", entries: [m("a", "x")], expire_time: "next tuesday" }),
      JSON.stringify({ item_id: "nested-op", list_id: "l", entries: [{ ...nested("a", [m("b", "c")]), operator: "excluded" }] }),
      JSON.stringify({ list_id: "l", entries: [m("a", "x")] }),
      JSON.stringify({ item_id: "no-list", entries: [m("a", "x")] }),
      JSON.stringify({ item_id: "wrong-item-type", list_id: "l", type: "detection", entries: [m("a", "x")] }),
      JSON.stringify({ list_id: "list-without-type" }),
      "42",
      JSON.stringify({ hello: "world" }),
      JSON.stringify({ item_id: "two-problems", list_id: "l", entries: [m("a", ""), m("b", "")] }),
      "",
    ];
    const parsed = parseExceptionFile(lines.join("\n"), "rules/x.exceptions.ndjson");
    expect(parsed.items.map((i) => i.item.item_id)).toEqual(["good"]);
    expect(parsed.errors.every((e) => e instanceof ExceptionLoadError && e.name === "ExceptionLoadError")).toBe(true);
    expect(parsed.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^rules\/x\.exceptions\.ndjson:2:2: invalid JSON: \S/),
      'rules/x.exceptions.ndjson:3:1: item "no-entries": entries: required field missing (expected array)',
      'rules/x.exceptions.ndjson:4:1: item "bad-op": entries[0].operator: expected one of "included", "excluded", received "is"',
      'rules/x.exceptions.ndjson:5:1: item "bad-type": entries[0].type: unknown entry type "regex" (expected one of "match", "match_any", "wildcard", "exists", "nested", "list")',
      'rules/x.exceptions.ndjson:6:1: item "empty-value": entries[0].value: expected a non-empty string',
      'rules/x.exceptions.ndjson:7:1: item "any-not-array": entries[0].value: expected array, received string',
      'rules/x.exceptions.ndjson:8:1: item "bad-field": entries[0].field: expected a field name like "process.executable", received "process..name"',
      'rules/x.exceptions.ndjson:9:1: item "bad-expiry": expire_time: expected an ISO 8601 date-time, received "next tuesday"',
      'rules/x.exceptions.ndjson:10:1: item "nested-op": entries[0].operator: a nested entry takes no operator; put "excluded" on its sub-entries',
      'rules/x.exceptions.ndjson:11:1: list "l": item_id: required field missing (expected string)',
      'rules/x.exceptions.ndjson:12:1: item "no-list": list_id: required field missing (expected string)',
      'rules/x.exceptions.ndjson:13:1: item "wrong-item-type": type: expected "simple", received "detection"',
      'rules/x.exceptions.ndjson:14:1: list "list-without-type": type: required field missing (expected string)',
      "rules/x.exceptions.ndjson:15:1: expected a JSON object (an exception list or an exception list item)",
      "rules/x.exceptions.ndjson:16:1: neither an exception list (list_id, type) nor an exception list item (item_id, list_id, entries)",
      'rules/x.exceptions.ndjson:17:1: item "two-problems": entries[0].value: expected a non-empty string (and 1 more problem)',
    ]);
    const e = parsed.errors[3]!;
    expect([e.kind, e.line, e.itemId, e.path]).toEqual(["schema", 5, "bad-type", ["entries", 0, "type"]]);
    expect(e.reason).toBe('unknown entry type "regex" (expected one of "match", "match_any", "wildcard", "exists", "nested", "list")');
  });

  it("names the record of a JSON array, and the line and column of a JSON syntax error", () => {
    const text = JSON.stringify([{ item_id: "a", list_id: "l", entries: [m("a", "x")] }, { item_id: "b", list_id: "l", entries: [] }]);
    expect(errorsOf(text, "lists.json")).toEqual(['lists.json: record 2: item "b": entries: expected at least one entry']);
    const broken = '[\n  {"item_id": "a",\n   "list_id": }\n]';
    const errors = parseExceptionFile(broken, "broken.json").errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.kind).toBe("json");
    expect([errors[0]!.line, errors[0]!.column]).toEqual([3, 15]);
    expect(errors[0]!.message).toMatch(/^broken\.json:3:15: invalid JSON: /);
  });
});

describe("entry semantics", () => {
  const ev = (o: Record<string, unknown>): Event => o;

  it("match: exact, case-sensitive, any array element, numbers and booleans by string form", () => {
    const f = matcher([m("process.name", "msiexec.exe")]);
    expect(f(ev({ process: { name: "msiexec.exe" } }))).toBe(true);
    expect(f(ev({ process: { name: "MSIEXEC.EXE" } }))).toBe(false);
    expect(f(ev({ process: { name: "msiexec.exe " } }))).toBe(false);
    expect(f(ev({ "process.name": "msiexec.exe" }))).toBe(true);
    expect(f(ev({ process: [{ name: "a" }, { name: "msiexec.exe" }] }))).toBe(true);
    expect(f(ev({ process: { name: ["a", "msiexec.exe"] } }))).toBe(true);
    expect(f(ev({}))).toBe(false);
    expect(matcher([m("process.pid", "4242")])(ev({ process: { pid: 4242 } }))).toBe(true);
    expect(matcher([m("process.code_signature.trusted", "true")])(ev({ process: { code_signature: { trusted: true } } }))).toBe(true);
    expect(matcher([m("process.code_signature.trusted", "true")])(ev({ process: { code_signature: { trusted: false } } }))).toBe(false);
  });

  it(".caseless compares the base field lowercased", () => {
    const f = matcher([m("process.executable.caseless", "C:\\Windows\\System32\\CMD.exe")]);
    expect(f(ev({ process: { executable: "c:\\windows\\system32\\cmd.EXE" } }))).toBe(true);
    expect(f(ev({ process: { executable: "c:\\windows\\system32\\cmd2.exe" } }))).toBe(false);
    const w = matcher([wc("process.executable.caseless", "c:\\\\programdata\\\\*")]);
    expect(w(ev({ process: { executable: "C:\\ProgramData\\Tool\\x.exe" } }))).toBe(true);
  });

  it("match_any: one of the values", () => {
    const f = matcher([any("user.name", ["svc_a", "svc_b"])]);
    expect(f(ev({ user: { name: "svc_b" } }))).toBe(true);
    expect(f(ev({ user: { name: ["x", "svc_a"] } }))).toBe(true);
    expect(f(ev({ user: { name: "SVC_A" } }))).toBe(false);
    expect(f(ev({}))).toBe(false);
  });

  it("wildcard: * and ?, case-sensitive, backslash escapes like Elasticsearch", () => {
    const f = matcher([wc("process.executable", "C:\\\\Program Files\\\\*\\\\tool?.exe")]);
    expect(f(ev({ process: { executable: "C:\\Program Files\\Vendor\\tool1.exe" } }))).toBe(true);
    expect(f(ev({ process: { executable: "C:\\Program Files\\Vendor\\tool12.exe" } }))).toBe(false);
    expect(f(ev({ process: { executable: "c:\\program files\\Vendor\\tool1.exe" } }))).toBe(false);
    // An unescaped backslash escapes the next character: `C:\Windows` is the pattern `C:Windows`.
    expect(matcher([wc("p", "C:\\Windows\\*")])(ev({ p: "C:\\Windows\\x" }))).toBe(false);
    expect(matcher([wc("p", "C:\\Windows\\*")])(ev({ p: "C:Windows*" }))).toBe(true);
  });

  it("compileEsWildcard: escaped wildcards are literal, a trailing backslash is literal", () => {
    expect(compileEsWildcard("a\\*b")("a*b")).toBe(true);
    expect(compileEsWildcard("a\\*b")("axb")).toBe(false);
    expect(compileEsWildcard("*\\?")("what?")).toBe(true);
    expect(compileEsWildcard("*\\?")("whatx")).toBe(false);
    expect(compileEsWildcard("ab\\")("ab\\")).toBe(true);
    expect(compileEsWildcard("\\a\\b*")("abc")).toBe(true);
    expect(compileEsWildcard("*\\**?")("x*😀")).toBe(true);
    expect(compileEsWildcard("?\\*")("😀*")).toBe(true);
  });

  it("exists: a non-null value; [] and null do not exist; objects exist when they hold a value", () => {
    const f = matcher([ex("process.parent.name")]);
    expect(f(ev({ process: { parent: { name: "" } } }))).toBe(true);
    expect(f(ev({ process: { parent: { name: null } } }))).toBe(false);
    expect(f(ev({ process: { parent: { name: [] } } }))).toBe(false);
    expect(f(ev({ process: {} }))).toBe(false);
    const o = matcher([ex("process.code_signature")]);
    expect(o(ev({ process: { code_signature: { trusted: false } } }))).toBe(true);
    expect(o(ev({ process: { code_signature: {} } }))).toBe(false);
    expect(o(ev({ process: { code_signature: [{ status: null }, { subject_name: "x" }] } }))).toBe(true);
    expect(matcher([ex("process.code_signature", "excluded")])(ev({ process: { name: "a" } }))).toBe(true);
  });

  it("excluded negates, and an excluded match holds when the field is missing", () => {
    const f = matcher([m("process.name", "cmd.exe", "excluded")]);
    expect(f(ev({ process: { name: "cmd.exe" } }))).toBe(false);
    expect(f(ev({ process: { name: "a.exe" } }))).toBe(true);
    expect(f(ev({}))).toBe(true);
    // No element may equal the value.
    expect(f(ev({ process: { name: ["a.exe", "cmd.exe"] } }))).toBe(false);
  });

  it("nested: one element must satisfy every sub-entry", () => {
    const f = matcher([nested("process.Ext.code_signature", [m("subject_name", "Ivanti, Inc."), m("trusted", "true")])]);
    const sigs = (...s: object[]) => ev({ process: { Ext: { code_signature: s } } });
    expect(f(sigs({ subject_name: "Ivanti, Inc.", trusted: true }))).toBe(true);
    expect(f(sigs({ subject_name: "Other", trusted: true }, { subject_name: "Ivanti, Inc.", trusted: true }))).toBe(true);
    // Split across two elements: no single element matches.
    expect(f(sigs({ subject_name: "Ivanti, Inc.", trusted: false }, { subject_name: "Other", trusted: true }))).toBe(false);
    expect(f(ev({ process: { Ext: { code_signature: { subject_name: "Ivanti, Inc.", trusted: true } } } }))).toBe(true);
    expect(f(ev({ "process.Ext.code_signature": [{ subject_name: "Ivanti, Inc.", trusted: "true" }] }))).toBe(true);
    expect(f(ev({ process: { Ext: {} } }))).toBe(false);
    expect(f(sigs())).toBe(false);
    const g = matcher([nested("file.Ext.code_signature", [m("subject_name", "Veeam"), m("trusted", "true", "excluded"), ex("status")])]);
    expect(g(ev({ file: { Ext: { code_signature: [{ subject_name: "Veeam", trusted: false, status: "errorExpired" }] } } }))).toBe(true);
    expect(g(ev({ file: { Ext: { code_signature: [{ subject_name: "Veeam", trusted: true, status: "trusted" }] } } }))).toBe(false);
    expect(g(ev({ file: { Ext: { code_signature: [{ subject_name: "Veeam", trusted: false }] } } }))).toBe(false);
  });

  it("an item is the AND of its entries; items are ORed and the first match is reported", () => {
    const a = item([m("user.name", "alice"), m("host.name", "h1")], { item_id: "a" });
    const b = item([m("user.name", "bob")], { item_id: "b" });
    const c = item([m("host.name", "h1")], { item_id: "c" });
    const { exceptions } = compileExceptions([a, b, c]);
    expect(exceptions.items.map((r) => r.itemId)).toEqual(["a", "b", "c"]);
    expect(exceptions.match({ user: { name: "alice" }, host: { name: "h1" } }, NOW)).toBe("a");
    expect(exceptions.match({ user: { name: "alice" }, host: { name: "h2" } }, NOW)).toBe(null);
    expect(exceptions.match({ user: { name: "bob" }, host: { name: "h1" } }, NOW)).toBe("b");
    expect(exceptions.match({ user: { name: "carol" }, host: { name: "h1" } }, NOW)).toBe("c");
    expect(compileExceptions([]).exceptions.match({}, NOW)).toBe(null);
  });

  it("os_types: the event's host.os.type must be listed (case-insensitive); unknown OS does not match", () => {
    const f = matcher([m("user.name", "a")], { os_types: ["windows", "macOS"] });
    expect(f({ user: { name: "a" }, host: { os: { type: "windows" } } })).toBe(true);
    expect(f({ user: { name: "a" }, host: { os: { type: "macos" } } })).toBe(true);
    expect(f({ user: { name: "a" }, host: { os: { type: "Windows" } } })).toBe(true);
    expect(f({ user: { name: "a" }, host: { os: { type: "linux" } } })).toBe(false);
    expect(f({ user: { name: "a" } })).toBe(false);
    expect(matcher([m("user.name", "a")], { os_types: [] })({ user: { name: "a" } })).toBe(true);
  });

  it("expire_time: ignored at and after expiry", () => {
    const exp = "2026-05-01T00:00:00.000Z";
    const f = matcher([m("user.name", "a")], { expire_time: exp });
    const e = { user: { name: "a" } };
    expect(f(e, Date.parse(exp) - 1)).toBe(true);
    expect(f(e, Date.parse(exp))).toBe(false);
    expect(f(e, Date.parse(exp) + 1)).toBe(false);
  });

  it("value lists and analysed .text fields are reported as unsupported, not crashes", () => {
    const list = item([{ field: "source.ip", operator: "included", type: "list", list: { id: "blocked-ips", type: "ip" } }], { item_id: "uses-list" });
    const r = compileExceptionItem(list);
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.kind).toBe("unsupported");
    expect(r.error.message).toBe(
      'test.json: item "uses-list": entries[0].type: value lists (type "list", list "blocked-ips") are not supported: they live in Kibana\'s list indices; use match_any',
    );
    const text = compileExceptions([item([m("a", "x"), nested("n", [wc("process.command_line.text", "*x*")])], { item_id: "t" })]);
    expect(text.errors.map((e) => e.message)).toEqual([
      'test.json: item "t": entries[1].entries[0].field: analysed text field "process.command_line.text" is not supported (Elasticsearch tokenises it); use the keyword field or its .caseless variant',
    ]);
    expect(text.exceptions.items).toEqual([]);
  });

  it("never reaches Object.prototype", () => {
    const f = matcher([m("constructor.name", "Object")]);
    expect(f({})).toBe(false);
    expect(matcher([ex("__proto__")])({})).toBe(false);
    expect(matcher([nested("__proto__", [ex("toString")])])({})).toBe(false);
    expect(matcher([ex("toString", "excluded")])({})).toBe(true);
  });
});

describe("the seed rule's example exceptions", () => {
  const file = `${FIXTURES}initial_access_execution_remote_via_msiexec.exceptions.ndjson`;
  const parsed = parseExceptionFile(readFileSync(file, "utf8"), file);
  const { exceptions, errors } = compileExceptions(parsed.items);
  const child = (overrides: Record<string, unknown>, user?: Record<string, unknown>): Event => {
    const e = seedAttack({ child: overrides })[2]!;
    return user ? { ...e, user: { ...(e.user as object), ...user } } : e;
  };

  it("compiles every item", () => {
    expect(errors).toEqual([]);
    expect(exceptions.items.map((r) => [r.itemId, r.expiresAtMs])).toEqual([
      ["pdq-deploy-runner", undefined],
      ["ivanti-agent-updates", undefined],
      ["sccm-service-accounts", undefined],
      ["erp-migration-temporary", Date.parse("2026-02-01T00:00:00.000Z")],
    ]);
  });

  it("does not except the attack's unsigned payload", () => {
    expect(exceptions.match(seedAttack()[2]!, NOW)).toBe(null);
  });

  it("excepts the signed PDQ runner, not an unsigned binary at the same path", () => {
    const path = "C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\PDQDeployRunner-1.exe";
    expect(exceptions.match(child({ executable: path, code_signature: { subject_name: "PDQ.com Corporation", trusted: true } }), NOW)).toBe("pdq-deploy-runner");
    expect(exceptions.match(child({ executable: path }), NOW)).toBe(null);
    expect(exceptions.match(child({ executable: path, code_signature: { subject_name: "PDQ.com Corporation", trusted: false } }), NOW)).toBe(null);
  });

  it("excepts Ivanti agent children by path wildcard and nested signature", () => {
    const executable = "C:\\Program Files (x86)\\LANDesk\\LDClient\\vulscan.exe";
    const signed = { Ext: { code_signature: [{ subject_name: "Ivanti, Inc.", trusted: true }], token: { integrity_level_name: "system" } } };
    expect(exceptions.match(child({ executable, ...signed }), NOW)).toBe("ivanti-agent-updates");
    expect(exceptions.match(child({ executable: "C:\\Users\\x\\LANDesk\\a\\b.exe", ...signed }), NOW)).toBe(null);
  });

  it("excepts the deployment service accounts unless the child is a script host", () => {
    expect(exceptions.match(child({}, { name: "svc_sccm_push" }), NOW)).toBe("sccm-service-accounts");
    expect(exceptions.match(child({ name: "powershell.exe" }, { name: "svc_sccm_push" }), NOW)).toBe(null);
    expect(exceptions.match(child({}, { name: "svc_sccm_push", domain: "OTHER" }), NOW)).toBe(null);
  });

  it("the ERP migration item applied only before its expiry", () => {
    const e = child({ parent: { entity_id: "a-msiexec-entity", name: "msiexec.exe", args: ["msiexec.exe", "/i", "http://deploy.corp.example/erp/client.msi"] } });
    expect(exceptions.match(e, Date.parse("2026-01-20T00:00:00Z"))).toBe("erp-migration-temporary");
    expect(exceptions.match(e, NOW)).toBe(null);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const scalar = fc.oneof(fc.constantFrom("a", "b", "A", "ab", "a*b", "", "1", "true"), fc.integer({ min: 0, max: 2 }), fc.boolean());
const leafValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constant(null));
const eventArb = fc.record({ x: fc.option(fc.record({ y: leafValue }, { requiredKeys: [] }), { nil: undefined }) }, { requiredKeys: [] });
const literal = fc.constantFrom("a", "b", "A", "1", "true", "ab", "a*b");

describe("properties", () => {
  it("excluded is the negation of included for match, match_any, wildcard and exists", () => {
    const entryArb = fc.oneof(
      literal.map((v) => (op: string) => m("x.y", v, op)),
      fc.array(literal, { minLength: 1, maxLength: 3 }).map((v) => (op: string) => any("x.y", v, op)),
      fc.constantFrom("a*", "*b", "?", "a\\*b", "*", "A?").map((v) => (op: string) => wc("x.y", v, op)),
      fc.constant((op: string) => ex("x.y", op)),
      fc.constant((op: string) => ex("x", op)),
    );
    fc.assert(
      fc.property(entryArb, eventArb, (make, event) => {
        const inc = matcher([make("included")])(event);
        const exc = matcher([make("excluded")])(event);
        return inc === !exc;
      }),
    );
  });

  it("an item matches iff every entry matches; a list matches iff some item matches", () => {
    const entryArb = literal.map((v) => m("x.y", v));
    fc.assert(
      fc.property(fc.array(fc.array(entryArb, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), eventArb, (items, event) => {
        const single = items.map((entries) => entries.map((e) => matcher([e])(event)));
        const expected = single.some((row) => row.every(Boolean));
        const { exceptions } = compileExceptions(items.map((entries) => item(entries)));
        return (exceptions.match(event, NOW) !== null) === expected;
      }),
    );
  });

  it("compileEsWildcard agrees with a reference regex translation", () => {
    const patternArb = fc.array(fc.constantFrom("a", "b", "*", "?", "\\", "\\*", "\\?", "\\\\", "."), { maxLength: 8 }).map((p) => p.join(""));
    const subject = fc.array(fc.constantFrom("a", "b", "*", "?", "\\", ".", "😀"), { maxLength: 8 }).map((p) => p.join(""));
    fc.assert(
      fc.property(patternArb, subject, (pattern, s) => compileEsWildcard(pattern)(s) === reference(pattern).test(s)),
      { numRuns: 3000 },
    );
  });

  it("without backslashes compileEsWildcard is lib/eql's wildcard", () => {
    const patternArb = fc.array(fc.constantFrom("a", "b", "*", "?"), { maxLength: 6 }).map((p) => p.join(""));
    const subject = fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 6 }).map((p) => p.join(""));
    fc.assert(fc.property(patternArb, subject, (p, s) => compileEsWildcard(p)(s) === compileWildcard(p)(s)));
  });

  it("matching is linear: a 200k-element array is scanned quickly", () => {
    const { exceptions } = compileExceptions([item([wc("x.y", "*zz*q"), nested("n", [m("k", "v")])])]);
    const big = { x: { y: Array.from({ length: 200_000 }, (_, i) => `value-${i}`) }, n: Array.from({ length: 100_000 }, () => ({ k: "w" })) };
    const t = performance.now();
    expect(exceptions.match(big, NOW)).toBe(null);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

/** Lucene wildcard semantics through a regex (test oracle only). */
function reference(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const next = i + 1 < pattern.length ? pattern[++i]! : "\\";
      out += escapeRe(next);
    } else if (c === "*") out += "[\\s\\S]*";
    else if (c === "?") out += ".";
    else out += escapeRe(c);
  }
  return new RegExp(`^${out}$`, "u");
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("jsonErrorOffset", () => {
  it("is the length of valid JSON and points into invalid JSON where JSON.parse gives up", () => {
    fc.assert(
      fc.property(fc.json(), (text) => jsonErrorOffset(text) === text.length),
    );
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonErrorOffset('{"a": "\\x"}')).toBe(8);
    expect(jsonErrorOffset('{"a": "\\u12G4"}')).toBe(11);
    expect(jsonErrorOffset("[1, 2")).toBe(5);
    expect(jsonErrorOffset("[01]")).toBe(2);
    expect(jsonErrorOffset("{} x")).toBe(3);
    expect(jsonErrorOffset("")).toBe(0);
  });
});
