import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compile, compareOrdinals, evaluate, eventIdentity, formatTimestamp, keyTuples, normaliseKey, parseTimestamp, SequenceMachine,
  type EvaluateOptions, type Event, type Ordinal,
} from "../lib/eql/index.js";

function run(query: string, events: Event[], options: EvaluateOptions = {}) {
  const c = compile(query, { categoryField: "cat" });
  if (!c.success) throw new Error(c.errors.map((e) => e.pretty()).join("\n"));
  return evaluate(c.data, events, options);
}

/** Ids of each result: for sequences, a list per match with -1 for a missing stage. */
function ids(query: string, events: Event[], options: EvaluateOptions = {}): unknown[] {
  return run(query, events, options).results.map((r) =>
    r.kind === "event" ? r.event.id : r.events.map((e) => (e === null ? -1 : e.id)),
  );
}

const ev = (id: number, ts: string | number, cat: string, more: Record<string, unknown> = {}): Event => ({ id, "@timestamp": ts, cat, ...more });

describe("timestamps", () => {
  it("parses ISO 8601 with 0 to 9 fractional digits and offsets, at full precision", () => {
    expect(parseTimestamp("2024-01-01T00:00:00Z")).toBe(1704067200000000000n);
    expect(parseTimestamp("2024-01-01T00:00:00.1Z")).toBe(1704067200100000000n);
    expect(parseTimestamp("2024-01-01T00:00:00.123456789Z")).toBe(1704067200123456789n);
    expect(parseTimestamp("2024-01-01T01:00:00.0000001+01:00")).toBe(1704067200000000100n);
    expect(parseTimestamp("2023-12-31T19:00:00-0500")).toBe(1704067200000000000n);
    expect(parseTimestamp("2024-01-01 00:00:00Z")).toBe(1704067200000000000n);
  });

  it("parses epoch milliseconds as a number or a string", () => {
    expect(parseTimestamp(1704067200000)).toBe(1704067200000000000n);
    expect(parseTimestamp("1704067200000")).toBe(1704067200000000000n);
    expect(parseTimestamp(1.5)).toBe(1500000n);
  });

  it("rejects what is not a timestamp", () => {
    for (const bad of ["", "yesterday", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T24:00:00Z",
      "2024-01-01T00:00:00.1234567890Z", null, true, {}, [], NaN, Infinity, "1".repeat(100)]) {
      expect(parseTimestamp(bad), String(bad)).toBeNull();
    }
  });

  it("reads random UTC times exactly, whatever the number of fractional digits", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1971-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }), (date, digits, nanos) => {
        const base = date.toISOString().slice(0, 19);
        const fraction = digits === 0 ? "" : "." + String(nanos).padStart(9, "0").slice(0, digits);
        const expected = BigInt(Date.parse(base + "Z")) * 1_000_000n + BigInt(fraction === "" ? 0 : Number(fraction.slice(1).padEnd(9, "0")));
        expect(parseTimestamp(`${base}${fraction}Z`)).toBe(expected);
        expect(parseTimestamp(`${base}${fraction}+00:00`)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("formats back to ISO text at full precision", () => {
    expect(formatTimestamp(1704067200123456789n)).toBe("2024-01-01T00:00:00.123456789Z");
    expect(formatTimestamp(1704067200100000000n)).toBe("2024-01-01T00:00:00.100Z");
  });

  it("orders nanoseconds beyond 2^53 exactly", () => {
    const a = parseTimestamp("2024-01-01T00:00:00.000000001Z")!;
    const b = parseTimestamp("2024-01-01T00:00:00.000000002Z")!;
    expect(Number(a) === Number(b)).toBe(true); // the reason for BigInt
    expect(a < b).toBe(true);
  });
});

describe("ordering", () => {
  it("sorts by time, then tiebreaker (null first), then identity", () => {
    const o = (ts: bigint, tiebreaker: number | null, id: string): Ordinal => ({ ts, tiebreaker, id });
    const list = [o(2n, 1, "a"), o(1n, 5, "z"), o(1n, null, "y"), o(1n, 2, "b"), o(1n, 2, "a")];
    expect(list.sort(compareOrdinals).map((x) => `${x.ts}/${x.tiebreaker}/${x.id}`)).toEqual(["1/null/y", "1/2/a", "1/2/b", "1/5/z", "2/1/a"]);
  });

  it("an event.id is its identity up to 256 characters; a longer one is stood for by a stable digest", () => {
    expect(eventIdentity({ event: { id: "a".repeat(256) } })).toBe("a".repeat(256));
    const long = eventIdentity({ event: { id: "a".repeat(257) } });
    expect(long).toMatch(/^sha256-id:[0-9a-f]{32}$/);
    expect(eventIdentity({ event: { id: "a".repeat(257) }, other: 1 })).toBe(long);
    expect(eventIdentity({ event: { id: "a".repeat(256) + "b" } })).not.toBe(long);
  });

  it("event queries come out in time order, with the tiebreaker field", () => {
    const events = [ev(1, 3, "a"), ev(2, 1, "a", { seq: 2 }), ev(3, 1, "a", { seq: 1 }), ev(4, 2, "b")];
    expect(ids("a where true", events, { tiebreakerField: "seq" })).toEqual([3, 2, 1]);
    expect(ids("a where true | head 2", events, { tiebreakerField: "seq" })).toEqual([3, 2]);
    expect(ids("a where true | tail 1", events, { tiebreakerField: "seq" })).toEqual([1]);
    expect(ids("a where true", events, { size: 1, tiebreakerField: "seq" })).toEqual([3]);
  });

  it("skips events without a usable timestamp and says why", () => {
    const r = run("a where true", [ev(1, 1, "a"), { id: 2, cat: "a" }, ev(3, "soon", "a")]);
    expect(r.results.length).toBe(1);
    expect(r.skipped).toEqual([{ index: 1, reason: "missing_timestamp" }, { index: 2, reason: "invalid_timestamp" }]);
  });
});

describe("join keys", () => {
  const keys = (v: unknown, optional = false) =>
    keyTuples({ keys: [() => v as never], keyOptional: [optional] }, {});

  it("normalises numbers, booleans and IPs to one string form", () => {
    expect(normaliseKey(0)).toBe("0");
    expect(normaliseKey("0")).toBe("0");
    expect(normaliseKey(true)).toBe("true");
    expect(normaliseKey("2001:DB8:0:0::1")).toBe("2001:db8::1");
    expect(normaliseKey("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(normaliseKey("010.1.2.3")).toBe("010.1.2.3"); // not a dotted quad: left as text
  });

  it("gives one tuple per distinct element, the cartesian product over fields, capped", () => {
    expect(keys(["a", "b", "a"])).toEqual({ success: true, tuples: [["a"], ["b"]] });
    const two = keyTuples({ keys: [() => ["a", "b"], () => [1, 2]], keyOptional: [false, false] }, {});
    expect(two).toEqual({ success: true, tuples: [["a", "1"], ["a", "2"], ["b", "1"], ["b", "2"]] });
    const many = keyTuples({ keys: [() => Array.from({ length: 8 }, (_, i) => i), () => Array.from({ length: 5 }, (_, i) => i)], keyOptional: [false, false] }, {});
    expect(many).toEqual({ success: false, reason: "too_many_join_keys", count: 40 });
  });

  it("drops events with a missing non-optional key; a missing optional key is null", () => {
    expect(keys(null)).toEqual({ success: true, tuples: [] });
    expect(keys(null, true)).toEqual({ success: true, tuples: [[null]] });
  });

  it("joins a numeric user.id with its string form across events", () => {
    const events = [ev(1, 1, "a", { user: { id: 0 } }), ev(2, 2, "b", { user: { id: "0" } })];
    expect(ids("sequence by user.id [a where true] [b where true]", events)).toEqual([[1, 2]]);
  });
});

describe("sequences", () => {
  it("a newer pending match replaces an older one", () => {
    const events = [ev(1, 1, "a"), ev(2, 2, "a"), ev(3, 3, "b"), ev(4, 4, "b")];
    expect(ids("sequence [a where true] [b where true]", events)).toEqual([[2, 3]]);
  });

  it("maxspan is inclusive", () => {
    const events = [ev(1, 1000, "a"), ev(2, 2000, "b"), ev(3, 3000, "a"), ev(4, 4001, "b")];
    expect(ids("sequence with maxspan=1s [a where true] [b where true]", events)).toEqual([[1, 2]]);
  });

  it("an event fills different stages of different sequences, never the same stage twice", () => {
    // As Elasticsearch's doubleSameSequence expects: [1,2,2,3,3,4].
    const events = [1, 2, 3, 4].map((i) => ev(i, i, "a"));
    expect(ids("sequence [a where true] [a where true]", events)).toEqual([[1, 2], [2, 3], [3, 4]]);
    expect(ids("sequence [a where true] [a where true] [a where true]", events)).toEqual([[1, 2, 3], [2, 3, 4]]);
  });

  it("until cancels pending sequences of the same key", () => {
    const events = [ev(1, 1, "a", { k: "x" }), ev(2, 2, "a", { k: "y" }), ev(3, 3, "u", { k: "x" }), ev(4, 4, "b", { k: "x" }), ev(5, 5, "b", { k: "y" })];
    expect(ids("sequence by k [a where true] [b where true] until [u where true]", events)).toEqual([[2, 5]]);
  });

  it("with runs=N repeats a stage", () => {
    const events = [ev(1, 1, "a"), ev(2, 2, "a"), ev(3, 3, "a"), ev(4, 4, "b")];
    expect(ids("sequence [a where true] with runs=3 [b where true]", events)).toEqual([[1, 2, 3, 4]]);
  });

  it("missing-event stages: leading, middle and trailing", () => {
    const events = [ev(1, 1000, "m"), ev(2, 3000, "a"), ev(3, 3500, "m"), ev(4, 4000, "b"), ev(5, 9000, "a"), ev(6, 9500, "b")];
    expect(ids("sequence with maxspan=5s [a where true] ![m where true] [b where true]", events)).toEqual([[5, -1, 6]]);
    expect(ids("sequence with maxspan=1s ![m where true] [a where true]", events)).toEqual([[-1, 2], [-1, 5]]);
    expect(ids("sequence with maxspan=3s ![m where true] [a where true]", events)).toEqual([[-1, 5]]);
    expect(ids("sequence with maxspan=1s [b where true] ![m where true]", events)).toEqual([[4, -1], [6, -1]]);
    expect(ids("sequence with maxspan=1s [a where true] ![m where true]", events)).toEqual([[5, -1]]);
  });

  it("the result lists join keys and events in stage order", () => {
    const r = run("sequence by host [a where true] by pid [b where true] by ppid", [
      ev(1, 1, "a", { host: "h", pid: 7 }), ev(2, 2, "b", { host: "h", ppid: "7" }),
    ]);
    expect(r.results).toEqual([{ kind: "sequence", joinKeys: ["h", "7"], events: [expect.objectContaining({ id: 1 }), expect.objectContaining({ id: 2 })] }]);
  });
});

describe("samples", () => {
  it("samples per key, one distinct event per stage, keys in order", () => {
    const events = [ev(1, 1, "a", { h: "y" }), ev(2, 2, "b", { h: "y" }), ev(3, 3, "a", { h: "x" }), ev(4, 4, "b", { h: "x" }), ev(5, 5, "a", { h: "z" })];
    expect(ids("sample by h [a where true] [b where true]", events)).toEqual([[3, 4], [1, 2]]);
    expect(ids("sample by h [any where true] [any where true]", [ev(1, 1, "a", { h: "x" })])).toEqual([]);
  });
});

describe("the state machine against a brute-force reference", () => {
  // Two stages, no maxspan, one key: the newest-pending rule means each b pairs with the latest
  // unclaimed a before it, provided no b came in between (which would have taken it).
  it("pairs each b with the latest a since the previous pairing", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b", "x"), { maxLength: 40 }), (kinds) => {
        const m = new SequenceMachine<number>({ missing: [false, false], maxspanNs: null });
        kinds.forEach((k, i) => {
          const stages = k === "a" ? [0] : k === "b" ? [1] : [];
          m.event("k", { ts: BigInt(i), tiebreaker: null, id: String(i) }, i, stages, false);
        });
        const got = m.results().map((c) => c.members.map((x) => x!.event));
        const expected: number[][] = [];
        let lastA: number | null = null;
        kinds.forEach((k, i) => {
          if (k === "a") lastA = i;
          else if (k === "b" && lastA !== null) {
            expected.push([lastA, i]);
            lastA = null;
          }
        });
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
