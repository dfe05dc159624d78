/**
 * Alert suppression settings and groups, and the duration / look-back parsers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DurationError, parseDuration, parseLookback, ruleIntervalMs, suppressionConfig, suppressionGroup, type SuppressionConfig,
} from "../lib/detect/index.js";
import { loadRuleFile, parseRule, type Rule } from "../lib/rules/index.js";
import { ruleToml, SAMPLE_DIR } from "./fixtures/detection-rules/samples.js";
import { seedAttack } from "./helpers/seed-attack.js";

const config = (groupBy: string[], missingFields: SuppressionConfig["missingFields"] = "suppress"): SuppressionConfig => ({
  groupBy,
  windowMs: 300_000,
  missingFields,
});

function rule(after: string, fields: Record<string, string | null> = {}): Rule {
  const r = parseRule(ruleToml({ rule: fields, after }), "test.toml");
  if (!r.success) throw new Error(r.errors.map((e) => e.message).join("\n"));
  return r.rule.rule;
}

describe("suppressionConfig", () => {
  it("is null without alert_suppression", () => {
    expect(suppressionConfig(rule(""))).toBe(null);
  });

  it("reads group_by, duration and the missing-fields strategy", () => {
    const r = rule('[rule.alert_suppression]\ngroup_by = ["host.id", "user.name"]\nmissing_fields_strategy = "doNotSuppress"\nduration = {value = 130, unit = "m"}\n');
    expect(suppressionConfig(r)).toEqual({ groupBy: ["host.id", "user.name"], windowMs: 130 * 60_000, missingFields: "doNotSuppress" });
  });

  it("without a duration uses the interval (default 5m); the strategy defaults to suppress", () => {
    expect(suppressionConfig(rule('[rule.alert_suppression]\ngroup_by = ["host.id"]\n'))).toEqual({
      groupBy: ["host.id"],
      windowMs: 300_000,
      missingFields: "suppress",
    });
    expect(suppressionConfig(rule('[rule.alert_suppression]\ngroup_by = ["host.id"]\n', { interval: '"1h"' }))?.windowMs).toBe(3_600_000);
    expect(ruleIntervalMs({})).toBe(300_000);
    expect(ruleIntervalMs({ interval: "30s" })).toBe(30_000);
  });

  it("reads the corpus's ES|QL rule with a [rule.alert_suppression.duration] table", async () => {
    const loaded = await loadRuleFile(`${SAMPLE_DIR}rules/cross-platform/command_and_control_wget_activity_llm_triage.toml`);
    if (!loaded.success) throw new Error("sample did not load");
    expect(suppressionConfig(loaded.rule.rule)).toEqual({ groupBy: ["host.name", "Esql.dest_host"], windowMs: 6 * 3_600_000, missingFields: "suppress" });
  });

  it("throws a DurationError for an interval the model did not validate", () => {
    expect(() => suppressionConfig({ alert_suppression: { group_by: ["a"] }, interval: "5 minutes" })).toThrow(DurationError);
  });
});

describe("suppressionGroup", () => {
  it("takes values from one event, as strings, keyed with the field names", () => {
    const g = suppressionGroup(config(["host.id", "process.pid", "process.code_signature.trusted"]), [
      { host: { id: "h1" }, process: { pid: 42, code_signature: { trusted: true } } },
    ]);
    expect(g).toEqual({
      values: ["h1", "42", "true"],
      key: '[["host.id","h1"],["process.pid","42"],["process.code_signature.trusted","true"]]',
    });
  });

  it("for a sequence, takes each field's first non-null value in stage order", () => {
    const events = seedAttack();
    const g = suppressionGroup(config(["host.id", "process.name", "destination.ip", "process.parent.name"]), events);
    expect(g?.values).toEqual(["host-1", "msiexec.exe", "198.51.100.7", "explorer.exe"]);
    const withMissing = suppressionGroup(config(["destination.ip"]), [null, undefined, { missing: true }, events[1]!]);
    expect(withMissing?.values).toEqual(["198.51.100.7"]);
  });

  it("missing fields: null with suppress, no group with doNotSuppress", () => {
    const events = [{ host: { id: "h1" } }];
    expect(suppressionGroup(config(["host.id", "user.name"]), events)).toEqual({
      values: ["h1", null],
      key: '[["host.id","h1"],["user.name",null]]',
    });
    expect(suppressionGroup(config(["host.id", "user.name"], "doNotSuppress"), events)).toBe(null);
    expect(suppressionGroup(config(["host.id"], "doNotSuppress"), events)?.values).toEqual(["h1"]);
    expect(suppressionGroup(config(["user.name"]), [{ user: { name: [] } }, { user: { name: null } }])?.values).toEqual([null]);
  });

  it("multi-valued fields group by the sorted array, duplicates kept", () => {
    const a = suppressionGroup(config(["related.ip"]), [{ related: { ip: ["10.0.0.2", "10.0.0.1"] } }]);
    const b = suppressionGroup(config(["related.ip"]), [{ related: { ip: ["10.0.0.1", "10.0.0.2"] } }]);
    expect(a?.values).toEqual([["10.0.0.1", "10.0.0.2"]]);
    expect(a?.key).toBe(b?.key);
    expect(suppressionGroup(config(["x"]), [{ x: ["b", "a", "b"] }])?.values).toEqual([["a", "b", "b"]]);
    expect(suppressionGroup(config(["x"]), [{ x: ["only"] }])?.values).toEqual(["only"]);
    expect(suppressionGroup(config(["x"]), [{ x: [2, 10, 1] }])?.values).toEqual([["1", "10", "2"]]);
  });

  it("keys differ when the field names differ, even with the same values", () => {
    const e = [{ a: "v", b: "v" }];
    expect(suppressionGroup(config(["a"]), e)?.key).not.toBe(suppressionGroup(config(["b"]), e)?.key);
  });

  it("property: the key depends only on the normalised values, and equal values give equal keys", () => {
    const scalar = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 12 }), fc.boolean());
    const value = fc.oneof(scalar, fc.array(scalar, { minLength: 1, maxLength: 4 }), fc.constant(null));
    fc.assert(
      fc.property(value, value, (x, y) => {
        const gx = suppressionGroup(config(["f"]), [{ f: x }])!;
        const gy = suppressionGroup(config(["f"]), [{ f: y }])!;
        const shuffled = Array.isArray(x) ? suppressionGroup(config(["f"]), [{ f: [...x].reverse() }])! : gx;
        const same = JSON.stringify(gx.values) === JSON.stringify(gy.values);
        return (gx.key === gy.key) === same && shuffled.key === gx.key && JSON.parse(gx.key)[0][1] !== undefined;
      }),
    );
  });
});

describe("parseDuration / parseLookback", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["130m", 7_800_000],
  ])("parseDuration(%s) = %d", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ["now-9m", 540_000],
    ["now-20m", 1_200_000],
    ["now-7d", 604_800_000],
    ["now-1w", 604_800_000],
    ["now-2H", 7_200_000],
    ["now-90s", 90_000],
    ["now", 0],
    ["now-0m", 0],
  ])("parseLookback(%s) = %d", (text, ms) => {
    expect(parseLookback(text)).toBe(ms);
  });

  it.each([
    ["5", 'invalid duration "5": expected a whole number followed by a unit (s, m, h, d), e.g. "5m"'],
    ["m", 'invalid duration "m": expected a whole number followed by a unit (s, m, h, d), e.g. "5m"'],
    ["1.5h", 'invalid duration "1.5h": expected a whole number followed by a unit (s, m, h, d), e.g. "5m"'],
    ["-5m", 'invalid duration "-5m": expected a whole number followed by a unit (s, m, h, d), e.g. "5m"'],
    ["5ms", 'invalid duration "5ms": unknown unit "ms" (expected one of s, m, h, d)'],
    ["1M", 'invalid duration "1M": calendar unit "M" has no fixed length; use s, m, h, d'],
    ["0m", 'invalid duration "0m": must be greater than zero'],
    ["99999999999999999d", 'invalid duration "99999999999999999d": too large'],
  ])("parseDuration(%s) throws", (text, message) => {
    expect(() => parseDuration(text)).toThrow(new DurationError("duration", text, message.slice(message.indexOf(": ") + 2)));
    expect(() => parseDuration(text)).toThrow(message);
  });

  it.each([
    ["9m", 'invalid look-back "9m": expected a look-back like "now-9m" (now minus a duration)'],
    ["now+9m", 'invalid look-back "now+9m": expected a look-back like "now-9m" (now minus a duration)'],
    ["now-1d/d", 'invalid look-back "now-1d/d": date-math rounding (/d, /h, ...) is not supported in a look-back'],
    ["now-1y", 'invalid look-back "now-1y": calendar unit "y" has no fixed length; use s, m, h, H, d, w'],
    ["now-", 'invalid look-back "now-": expected a whole number followed by a unit (s, m, h, H, d, w), e.g. "5m"'],
  ])("parseLookback(%s) throws", (text, message) => {
    let caught: unknown;
    try {
      parseLookback(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DurationError);
    const err = caught as DurationError;
    expect([err.name, err.what, err.input, err.message]).toEqual(["DurationError", "look-back", text, message]);
  });

  it("property: parseDuration(n + unit) = n * unit", () => {
    const units = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom("s", "m", "h", "d"), (n, u) => {
        return parseDuration(`${n}${u}`) === n * units[u as keyof typeof units] && parseLookback(`now-${n}${u}`) === parseDuration(`${n}${u}`);
      }),
    );
  });
});
