/**
 * `StageIndex.matches(event)` decides stages without their compiled predicates: shared atoms
 * memoised per event, per-field caches of results by value, reordered `and`/`or` operands,
 * anchors on necessary clauses, a shortcut for fields whose top-level key is absent. Each property
 * here says the same thing on different inputs: the set of stages it returns is exactly the set
 * whose `stage.matches(event)` holds, and `candidates(event)` contains it.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateEvents } from "../bench/generate.js";
import {
  buildStageIndex, compile, mappingsFromElasticsearch, walkExpr, type CompiledStage, type Event, type IndexedStage, type Mappings,
} from "../lib/eql/index.js";
import { readDataFile, readMapping, readSpec, readTestData } from "./helpers/conformance.js";
import { seedAttack } from "./helpers/seed-attack.js";

interface FixtureRule { readonly name: string; readonly query: string; readonly event_category_override?: string }
const fixture = JSON.parse(readFileSync(new URL("./fixtures/detection-rules/eql-rules.json", import.meta.url), "utf8")) as { rules: FixtureRule[] };

type Entry = IndexedStage<string>;

function stagesOf(label: string, query: string, options: { categoryField?: string; mappings?: Mappings } = {}): Entry[] {
  const c = compile(query, options);
  if (!c.success) throw new Error(`${label}: ${c.errors.map((e) => e.message).join("; ")}`);
  return [...c.data.stages, ...(c.data.until ? [c.data.until] : [])].map((stage) => ({ stage, value: `${label} #${stage.index}` }));
}

/** Checks one event: matches() is the brute-force set, candidates() contains it. Returns the count. */
function checkEvent(index: ReturnType<typeof buildStageIndex<string>>, entries: readonly Entry[], e: Event): number {
  const expected = entries.filter((x) => x.stage.matches(e));
  const got = index.matches(e);
  expect(new Set(got).size, "each stage once").toBe(got.length);
  expect(got.map((x) => x.value).sort(), JSON.stringify(e).slice(0, 400)).toEqual(expected.map((x) => x.value).sort());
  const candidates = new Set(index.candidates(e));
  for (const x of expected) expect(candidates.has(x), `${x.value} matches but is no candidate`).toBe(true);
  return expected.length;
}

describe("stage index matches(): 1,024 production rules", () => {
  const entries: Entry[] = [];
  for (const r of fixture.rules) entries.push(...stagesOf(r.name, r.query, r.event_category_override ? { categoryField: r.event_category_override } : {}));
  const index = buildStageIndex(entries);

  it("returns exactly the stages whose predicate holds (realistic events, each seen twice)", () => {
    const events: Event[] = [
      ...generateEvents({ events: 1500, attackSequences: 5, seed: 23 }).lines.map((l) => JSON.parse(l) as Event),
      ...seedAttack(),
    ];
    let matched = 0;
    // The second pass reads the per-field caches filled by the first.
    for (let pass = 0; pass < 2; pass++) for (const e of events) matched += checkEvent(index, entries, e);
    expect(matched).toBeGreaterThan(2000);
  });

  it("returns exactly the stages whose predicate holds (random events made of the rules' own fields and literals)", () => {
    // Every field a rule compares with a literal, and the literals (wildcards filled in).
    const pool = new Map<string, unknown[]>();
    for (const x of entries) {
      walkExpr(x.stage.filter.condition, (n) => {
        const add = (field: string, v: unknown) => {
          const list = pool.get(field) ?? [];
          if (list.length < 40 && !list.includes(v)) list.push(v);
          pool.set(field, list);
        };
        if (n.kind === "Compare" && n.left.kind === "Field" && n.right.kind === "Literal") add(n.left.name, n.right.value);
        if (n.kind === "In" && n.target.kind === "Field") for (const v of n.values) if (v.kind === "Literal") add(n.target.name, v.value);
        if (n.kind === "Match" && n.target.kind === "Field") {
          for (const p of n.patterns) if (typeof p.value === "string") add(n.target.name, p.value.replace(/\*/g, "").replace(/\?/g, "a"));
        }
      });
    }
    for (const [f, vs] of [["event.category", ["process", "network", "file", "registry", "library", "authentication"]], ["host.os.type", ["windows", "linux", "macos"]]] as const) {
      pool.set(f, [...vs]);
    }
    const fields = [...pool.keys()];
    const variant = (v: unknown) =>
      fc.oneof(
        fc.constant(v),
        fc.constant(typeof v === "string" ? v.toUpperCase() : v),
        fc.constant(typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
        fc.constant([v, "other"]),
        fc.constant(null),
        fc.constant(String(v) === "true" ? true : v),
      );
    const event = fc
      .uniqueArray(fc.constantFrom(...fields), { minLength: 2, maxLength: 12 })
      .chain((fs) => fc.tuple(...fs.map((f) => fc.tuple(fc.constant(f), fc.constantFrom(...pool.get(f)!).chain(variant), fc.boolean()))))
      .map((pairs) => {
        const e: Record<string, unknown> = {};
        for (const [f, v, dotted] of pairs) {
          if (dotted) e[f] = v; // a literal dotted key
          else {
            const path = f.split(".");
            let o = e;
            let ok = true;
            for (const seg of path.slice(0, -1)) {
              const next = o[seg];
              if (next === undefined) o = o[seg] = {} as Record<string, unknown>;
              else if (next !== null && typeof next === "object" && !Array.isArray(next)) o = next as Record<string, unknown>;
              else ok = false;
              if (!ok) break;
            }
            if (ok && o[path[path.length - 1]!] === undefined) o[path[path.length - 1]!] = v;
          }
        }
        return JSON.parse(JSON.stringify(e)) as Event;
      });
    fc.assert(
      fc.property(event, (e) => {
        checkEvent(index, entries, e);
        checkEvent(index, entries, e);
      }),
      { numRuns: 400 },
    );
  });
});

describe("stage index matches(): Elasticsearch spec queries", () => {
  // Every stage of every spec query (each suite's category field and mappings) in one index,
  // over the union of the suites' events.
  const suites: { file: string; events: Event[]; mappings?: Mappings }[] = [
    { file: "test_queries.toml", events: readTestData() },
    { file: "additional_test_queries.toml", events: readTestData() },
    { file: "test_missing_events.toml", events: readDataFile("missing-events.data") },
    { file: "test_extra.toml", events: readDataFile("extra.data"), mappings: mappingsFromElasticsearch(readMapping("extra.mapping")) },
    { file: "test_sample.toml", events: [...readDataFile("sample1.data"), ...readDataFile("sample2.data"), ...readDataFile("sample3.data")] },
    { file: "test_sample_multi.toml", events: readDataFile("sample-multi.data") },
  ];
  const entries: Entry[] = [];
  const events: Event[] = [];
  for (const s of suites) {
    events.push(...s.events);
    for (const q of readSpec(s.file)) entries.push(...stagesOf(`${s.file}:${q.name}`, q.query, { categoryField: "event_type", ...(s.mappings ? { mappings: s.mappings } : {}) }));
  }

  it("returns exactly the stages whose predicate holds", () => {
    const index = buildStageIndex(entries);
    let matched = 0;
    for (let pass = 0; pass < 2; pass++) for (const e of events) matched += checkEvent(index, entries, e);
    expect(entries.length).toBeGreaterThan(500);
    expect(matched).toBeGreaterThan(1000);
  });
});

describe("stage index matches(): random conditions on random events", () => {
  // Conditions over a few fields mixing every operator, literal type and case; events with text,
  // numeric text, numbers, booleans, nulls, arrays and dotted keys.
  const fields = ["a", "b", "c.d", "c.e", "`x.y`"];
  const texts = ["foo", "FOO", "Foo.exe", "bar", "5", "5.0", "true", "", "a*", "*o*"];
  const lit = fc.oneof(
    fc.constantFrom(...texts).map((t) => JSON.stringify(t)),
    fc.constantFrom("5", "0", "-1", "2.5", "true", "false"),
  );
  const pattern = fc.constantFrom('"foo"', '"FOO*"', '"*.exe"', '"f?o"', '"5"', '"*"', '"bar"');
  const atom = fc.oneof(
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom("==", "!=", "<", ">=", ":", "like", "like~"), lit).map(([f, op, v]) =>
      op === ":" || op.startsWith("like") ? `${f} ${op} ${v.startsWith('"') ? v : `"${v}"`}` : `${f} ${op} ${v}`,
    ),
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom("in", "in~", "not in"), fc.uniqueArray(lit, { minLength: 1, maxLength: 3 })).map(
      ([f, op, vs]) => `${f} ${op} (${vs.join(", ")})`,
    ),
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom(":", "like~"), fc.uniqueArray(pattern, { minLength: 1, maxLength: 3 })).map(
      ([f, op, ps]) => `${f} ${op} (${ps.join(", ")})`,
    ),
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom("== null", "!= null")).map(([f, t]) => `${f} ${t}`),
    fc.tuple(fc.constantFrom(...fields)).map(([f]) => `?${f} == "foo"`),
    fc.tuple(fc.constantFrom(...fields)).map(([f]) => `${f} regex~ "fo+"`),
    fc.tuple(fc.constantFrom(...fields)).map(([f]) => `startsWith~(${f}, "fo")`),
    fc.tuple(fc.constantFrom(...fields), fc.constantFrom("startsWith", "endsWith", "stringContains", "endsWith~"), lit).map(([f, fn, v]) => `${fn}(${f}, ${v})`),
    fc.tuple(fc.constantFrom(...fields)).map(([f]) => `cidrMatch(${f}, "10.0.0.0/8", "::1")`),
    fc.tuple(fc.constantFrom(...fields)).map(([f]) => `length(${f}) > 2`),
  );
  const { cond } = fc.letrec<{ cond: string }>((tie) => ({
    cond: fc.oneof(
      { depthSize: "small" },
      atom,
      fc.tuple(tie("cond"), tie("cond")).map(([x, y]) => `(${x} and ${y})`),
      fc.tuple(tie("cond"), tie("cond")).map(([x, y]) => `(${x} or ${y})`),
      tie("cond").map((x) => `not (${x})`),
    ),
  }));
  const stage = fc.tuple(fc.constantFrom("any", "process", "file"), cond).map(([cat, c]) => `${cat} where ${c}`);
  const value = fc.oneof(
    fc.constantFrom(...texts, "fOO", "x.exe", "FOO.EXE", "10.1.2.3", "::1", "192.168.0.1"),
    fc.constantFrom(5, 0, -1, 2.5, true, false, null),
    fc.uniqueArray(fc.constantFrom("foo", "bar", "5", "FOO", 5, true), { minLength: 0, maxLength: 3 }),
  );
  const event = fc
    .record({
      category: fc.constantFrom("process", "file", ["process", "file"], "network", 5),
      a: value, b: value, d: value, e: value, xy: value,
      spelling: fc.constantFrom("nested", "dotted", "missing"),
    }, { requiredKeys: ["category", "spelling"] })
    .map((r) => {
      const e: Record<string, unknown> = { event: { category: r.category } };
      if (r.a !== undefined) e.a = r.a;
      if (r.b !== undefined) e.b = r.b;
      if (r.spelling === "nested") e.c = { d: r.d, e: r.e };
      if (r.spelling === "dotted") Object.assign(e, { "c.d": r.d, "c.e": r.e });
      if (r.xy !== undefined) e["x.y"] = r.xy;
      return JSON.parse(JSON.stringify(e)) as Event;
    });

  it("returns exactly the stages whose predicate holds", () => {
    fc.assert(
      fc.property(fc.array(stage, { minLength: 1, maxLength: 12 }), fc.array(event, { minLength: 1, maxLength: 8 }), (queries, events) => {
        const entries = queries.flatMap((q, i) => stagesOf(`q${i}: ${q}`, q));
        const index = buildStageIndex(entries);
        for (const e of [...events, ...events]) checkEvent(index, entries, e);
      }),
      { numRuns: 500 },
    );
  });

  it("honours mappings (null_value, version) like the predicates", () => {
    const mappings: Mappings = new Map([["a", { nullValue: "foo" }], ["b", { type: "version" }]]);
    const queries = [
      'any where a == "foo"', 'any where a : "FOO"', 'any where b < "1.10.0"', 'any where b == "1.2.0" or a in ("bar", "foo")', 'any where a != "foo"',
      "any where a == null", "any where a != null and b != null",
    ];
    const entries = queries.flatMap((q, i) => stagesOf(`m${i}`, q, { mappings }));
    const index = buildStageIndex(entries);
    const events: Event[] = [{ a: null }, { a: "foo" }, {}, { a: [null, "bar"] }, { b: "1.9.0" }, { b: "1.10.1" }, { b: "1.2.0", a: "x" }];
    for (const e of [...events, ...events]) checkEvent(index, entries, e);
    expect(index.matches({ a: null }).map((x) => x.value).sort()).toEqual(["m0 #0", "m1 #0", "m3 #0"]);
    expect(index.matches({}).map((x) => x.value).sort()).toEqual(["m4 #0", "m5 #0"]);
  });
});

describe("stage index: tests that differ only slightly are different atoms", () => {
  it("keeps apart what changes a result: case folding, negation, optional fields, literal types, operators", () => {
    const conditions = [
      'a in ("foo", "5")', 'a in~ ("foo", "5")', 'a not in ("foo", "5")', 'a in ("foo", 5)',
      'a : "foo"', 'a like "foo"', 'a like~ "foo"', 'a : "foo*"', 'a like "foo*"', 'a regex "foo.*"', 'a regex~ "foo.*"',
      'a == "5"', "a == 5", "a == 5.0", 'a != "5"', "a < 5", "a <= 5", "?a == \"foo\"", "a == \"foo\"", "?a == ?b", "a == b",
      'startsWith(a, "fo")', 'startsWith~(a, "fo")', 'endsWith(a, "oo")', 'stringContains(a, "o")', "a + 1 == 6", "a + 1.0 == 6",
      '`a.b` == "x"', 'a.b == "x"', "a == null", "a != null", "?a == null",
    ];
    const entries = conditions.flatMap((c, i) => stagesOf(`${i}: ${c}`, `any where ${c}`));
    const index = buildStageIndex(entries);
    const values = ["foo", "FOO", "fooBAR", "5", "5.0", 5, 4, "x", null, ["FOO", "5"], true];
    const events: Event[] = [{}];
    for (const a of values) {
      events.push({ a }, { a, b: a }, { a, b: "foo" });
      events.push({ "a.b": a }, { a: { b: a } });
    }
    for (const e of [...events, ...events]) checkEvent(index, entries, e);
  });
});

describe("stage index stats", () => {
  it("counts atoms shared between stages once", () => {
    const entries = [
      ...stagesOf("x", 'process where host.os.type == "windows" and process.name : "a.exe"'),
      ...stagesOf("y", 'process where host.os.type == "windows" and process.name : "b.exe"'),
    ];
    const index = buildStageIndex(entries);
    expect(index.stats.atoms).toBe(3);
    expect(index.stats.indexed).toBe(2);
    const stage: CompiledStage = entries[0]!.stage;
    expect(stage.categoryField).toBe("event.category");
  });
});
