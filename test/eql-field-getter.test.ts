/**
 * The generated field getters (lib/eql/nested-getter.ts) take a fast path for plain nested
 * objects, and the stage index reads many fields in one walk of the event (lib/eql/field-scan.ts):
 * both checked against a reference resolver written from the semantics (every spelling of the
 * path, nested or dotted, through arrays, flattening nested arrays, `null_value` for explicit
 * nulls) on random JSON events, including paths longer than the generated ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fieldGetter, type Event, type Scalar, type Value } from "../lib/eql/index.js";
import { FieldScan } from "../lib/eql/field-scan.js";
import { unmemoisedFieldGetter } from "../lib/eql/values.js";

function reference(event: unknown, path: readonly string[], nullValue?: Scalar): Value {
  const out: Scalar[] = [];
  const collect = (v: unknown, depth: number) => {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.push(v);
    else if (v === null && nullValue !== undefined) out.push(nullValue);
    else if (Array.isArray(v) && depth < 32) for (const x of v) collect(x, depth + 1);
  };
  const walk = (node: unknown, i: number) => {
    if (i === path.length) return collect(node, 0);
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const el of node) walk(el, i);
      return;
    }
    for (let j = i; j < path.length; j++) {
      const key = path.slice(i, j + 1).join(".");
      if (Object.hasOwn(node, key)) walk((node as Record<string, unknown>)[key], j + 1);
    }
  };
  walk(event, 0);
  return out.length === 0 ? null : out.length === 1 ? out[0]! : out;
}

const SEGMENTS = ["a", "b", "c", "__proto__", "constructor"];
const KEYS = ["a", "b", "c", "a.b", "b.c", "a.b.c", "c.a", "__proto__", "constructor", "toString"];
const scalar = fc.oneof(fc.constantFrom("x", "X", "", "1"), fc.integer({ min: -3, max: 3 }), fc.boolean());
const { node } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.constant(null),
    fc.array(tie("node"), { maxLength: 3 }),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie("node")), { maxLength: 4 }).map((kvs) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of kvs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  ),
}));
/** Events as the engine gets them: JSON text parsed (own `__proto__` keys included). */
const event = fc.array(fc.tuple(fc.constantFrom(...KEYS), node), { maxLength: 5 }).map((kvs) => {
  const parts = kvs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`);
  return JSON.parse(`{${parts.join(",")}}`) as Event;
});
const path = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 });

describe("generated field getters", () => {
  it("resolve like the reference on random events", () => {
    fc.assert(
      fc.property(event, path, fc.option(fc.constantFrom<Scalar>("nv", 0, false), { nil: undefined }), (e, p, nullValue) => {
        const expected = reference(e, p, nullValue);
        const get = fieldGetter(p, nullValue === undefined ? {} : { nullValue });
        expect(get(e)).toEqual(expected);
        if (nullValue === undefined) expect(unmemoisedFieldGetter(p)(e)).toEqual(expected);
        // A path read often gets generated code: read it past that point and check again.
        for (let i = 0; i < 70; i++) {
          get({});
          unmemoisedFieldGetter(p)({});
        }
        expect(get(e)).toEqual(expected);
        if (nullValue === undefined) expect(unmemoisedFieldGetter(p)(e)).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("resolve long paths (beyond the generated ones) like the reference", () => {
    // Chains of `a` objects, some links spelled as dotted keys, some wrapped in arrays.
    const link = fc.constantFrom("nested", "dotted", "array");
    const chain = fc.tuple(fc.array(link, { minLength: 8, maxLength: 11 }), scalar).map(([links, leaf]) => {
      let v: unknown = leaf;
      for (let i = links.length - 1; i >= 0; i--) {
        const kind = links[i]!;
        if (kind === "array") v = [{ a: v }];
        else if (kind === "dotted" && v !== null && typeof v === "object" && !Array.isArray(v) && "a" in v) v = { "a.a": (v as { a: unknown }).a };
        else v = { a: v };
      }
      return JSON.parse(JSON.stringify(v)) as Event;
    });
    fc.assert(
      fc.property(chain, fc.integer({ min: 7, max: 12 }), (e, n) => {
        const p = Array.from({ length: n }, () => "a");
        const get = fieldGetter(p);
        expect(get(e)).toEqual(reference(e, p));
        for (let i = 0; i < 70; i++) get({});
        expect(get(e)).toEqual(reference(e, p));
      }),
      { numRuns: 1000 },
    );
  });

  it("one walk of the event (FieldScan) reads every field like its getter", () => {
    const paths = fc.uniqueArray(path, { minLength: 1, maxLength: 12, selector: (p) => p.join("\u0000") });
    const withBackquoted = paths.map((ps) => [...ps, ["a.b"], ["a.b", "c"], ["b", "c.a"]]);
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 4 }), withBackquoted, (events, ps) => {
        const scan = new FieldScan(ps);
        for (const e of [...events, ...events]) {
          scan.begin(e);
          ps.forEach((p, f) => expect(scan.value(f), JSON.stringify(p)).toEqual(reference(e, p)));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("one walk of the event: two spellings, arrays on the way, inherited properties", () => {
    const paths = [["a", "b"], ["a", "b", "c"], ["x", "y"], ["k"]];
    const scan = new FieldScan(paths);
    const check = (e: Event) => {
      scan.begin(e);
      paths.forEach((p, f) => expect(scan.value(f), `${JSON.stringify(e)} ${p.join(".")}`).toEqual(reference(e, p)));
    };
    check(JSON.parse('{"a": {"b": "x"}, "a.b": "y"}') as Event);
    check(JSON.parse('{"a": {"b.c": 1, "b": {"c": 2}}}') as Event);
    check(JSON.parse('{"a": [{"b": "x"}, {"b": ["y", "z"]}], "x.y": [1, [2]]}') as Event);
    check(JSON.parse('{"a": {"b": {"c": null}}, "k": []}') as Event);
    const inherited = Object.create({ a: { b: "inherited" }, k: "inherited" }) as Record<string, unknown>;
    inherited.x = { y: "own" };
    check(inherited as Event);
    check([{ a: { b: "in an array event" } }] as unknown as Event);
    // An enumerable property on Object.prototype (prototype pollution) is listed by for-in on
    // every object: it must still not be read.
    Object.defineProperty(Object.prototype, "x", { value: { y: "polluted" }, enumerable: true, configurable: true, writable: true });
    try {
      check(JSON.parse('{"a": {"b": 1}}') as Event);
    } finally {
      delete (Object.prototype as Record<string, unknown>).x;
    }
  });

  it("a mapping's null_value stands for an explicit null under a dotted key too", () => {
    // Before the generated getters, the dotted-key search returned null here.
    const e = JSON.parse('{"c.a": null}') as Event;
    expect(fieldGetter(["c", "a"], { nullValue: 0 })(e)).toBe(0);
    expect(fieldGetter(["c", "a"])(e)).toBeNull();
  });

  it("reads only own properties, whatever the path", () => {
    const e = JSON.parse('{"a": {"b": 1}}') as Event;
    expect(fieldGetter(["constructor"])(e)).toBeNull();
    expect(fieldGetter(["a", "toString"])(e)).toBeNull();
    expect(fieldGetter(["__proto__", "polluted"])(e)).toBeNull();
    expect(fieldGetter(["a", "b"])(e)).toBe(1);
  });
});
