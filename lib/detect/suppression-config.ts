/**
 * Alert suppression settings of a rule, and the suppression group of an alert.
 *
 * - Window: `alert_suppression.duration` when set; otherwise Kibana suppresses "per rule
 *   execution", which in a stream is the rule's `interval` (Kibana's default: 5m). Windows are in
 *   event time (the store applies them); this module only computes their length.
 * - Missing fields: `missing_fields_strategy`, default "suppress" (Kibana's default). With
 *   "suppress" a missing group-by field is the value null and such alerts group together; with
 *   "doNotSuppress" an alert with any group-by field missing is not suppressed at all.
 * - Values: each group-by field takes the first non-null value among the alert's events in stage
 *   order (a sequence's events are in stage order; a missing-event stage contributes nothing).
 *   Kibana reads a sequence's values from its "shell" alert, which keeps only the fields whose
 *   values are equal in every event, so there a field that differs between stages is null; the
 *   first-non-null rule keeps a useful value instead (for single-event rules both agree).
 * - Normalisation: scalars become their string form (`42` and `"42"` group together, `true` is
 *   "true"). A multi-valued field groups by the whole array of its values, sorted (UTF-16 code
 *   unit order) with duplicates kept, as Kibana sorts it, so `[b, a]` and `[a, b]` group
 *   together; a one-element array is its element, and an empty array is missing.
 * - The key is JSON of `[[field, value], ...]`: field names are included, like Kibana's
 *   suppression terms, so a rule whose `group_by` changes never reuses old groups.
 *
 * Durations: `parseDuration` reads an `interval` (`30s`, `5m`, `1h`, `1d`), `parseLookback` a
 * `from` (`now-9m`, `now-7d`, also `w` and `H` of Elasticsearch date math). Both throw a
 * `DurationError` on anything else, including date-math rounding (`now-1d/d`) and calendar units
 * (`M`, `y`), whose length depends on the date.
 */
import { fieldGetter, type Event, type Value } from "../eql/index.js";

export type MissingFieldsStrategy = "suppress" | "doNotSuppress";

export interface SuppressionConfig {
  /** The group-by fields, in the rule's order. */
  readonly groupBy: readonly string[];
  /** Length of a suppression window, in milliseconds. */
  readonly windowMs: number;
  readonly missingFields: MissingFieldsStrategy;
}

/** A group-by field's value: its string form, the sorted array of a multi-valued field, or null. */
export type SuppressionValue = string | readonly string[] | null;

export interface SuppressionGroup {
  /** Stable input for a hash: JSON of `[[field, value], ...]`. */
  readonly key: string;
  /** One value per group-by field, in `groupBy` order. */
  readonly values: readonly SuppressionValue[];
}

/** The part of a rule this module reads (a `Rule` from lib/rules fits). */
export interface SuppressionRuleFields {
  readonly alert_suppression?:
    | {
        readonly group_by: readonly string[];
        readonly duration?: { readonly value: number; readonly unit: string } | undefined;
        readonly missing_fields_strategy?: MissingFieldsStrategy | undefined;
      }
    | undefined;
  readonly interval?: string | undefined;
}

/** Kibana's default rule schedule. */
export const DEFAULT_RULE_INTERVAL = "5m";

/** The rule's suppression settings, or null when it does not suppress. Throws `DurationError` on a bad interval or duration. */
export function suppressionConfig(rule: SuppressionRuleFields): SuppressionConfig | null {
  const s = rule.alert_suppression;
  if (s === undefined || s.group_by.length === 0) return null;
  const windowMs =
    s.duration !== undefined ? parseDuration(`${s.duration.value}${s.duration.unit}`) : ruleIntervalMs(rule);
  return {
    groupBy: [...s.group_by],
    windowMs,
    missingFields: s.missing_fields_strategy ?? "suppress",
  };
}

/** The rule's `interval` in milliseconds (default 5 minutes). */
export function ruleIntervalMs(rule: { readonly interval?: string | undefined }): number {
  return parseDuration(rule.interval ?? DEFAULT_RULE_INTERVAL);
}

const getters = new Map<string, (event: Event) => Value>();

function getterFor(field: string): (event: Event) => Value {
  let get = getters.get(field);
  if (get === undefined) {
    get = fieldGetter(field.split("."));
    getters.set(field, get);
  }
  return get;
}

/**
 * The suppression group of an alert made of `events` (in stage order; null entries, such as
 * missing-event stages, are skipped). Null when the alert must not be suppressed: a group-by
 * field is missing and the strategy is "doNotSuppress".
 */
export function suppressionGroup(config: SuppressionConfig, events: readonly (Event | null | undefined)[]): SuppressionGroup | null {
  const values: SuppressionValue[] = [];
  for (const field of config.groupBy) {
    const get = getterFor(field);
    let value: SuppressionValue = null;
    for (const event of events) {
      if (event === null || event === undefined) continue;
      const v = get(event);
      if (v === null) continue;
      value = normalise(v);
      break;
    }
    if (value === null && config.missingFields === "doNotSuppress") return null;
    values.push(value);
  }
  const key = JSON.stringify(config.groupBy.map((field, i) => [field, values[i]]));
  return { key, values };
}

function normalise(v: Exclude<Value, null>): SuppressionValue {
  if (typeof v !== "object") return typeof v === "string" ? v : String(v);
  const out = v.map((x) => (typeof x === "string" ? x : String(x)));
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Durations

/**
 * A duration or look-back that cannot be read: `invalid duration "5x": unknown unit "x" (...)`.
 * `reason` is the message without the input.
 */
export class DurationError extends Error {
  override readonly name = "DurationError";
  readonly input: string;
  readonly reason: string;
  readonly what: "duration" | "look-back";
  constructor(what: "duration" | "look-back", input: string, reason: string) {
    super(`invalid ${what} ${JSON.stringify(input)}: ${reason}`);
    this.what = what;
    this.input = input;
    this.reason = reason;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  H: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+)([a-zA-Z]+)$/;

/** `"5m"` -> 300000. Units: s, m, h, d. Must be positive. */
export function parseDuration(text: string): number {
  return parseAmount("duration", text, text, ["s", "m", "h", "d"], false);
}

/** `"now-9m"` -> 540000: how far back a rule looks. Units: s, m, h, H, d, w; `"now"` is 0. */
export function parseLookback(text: string): number {
  const t = text.trim();
  if (t === "now") return 0;
  if (!t.startsWith("now-")) {
    throw new DurationError("look-back", text, 'expected a look-back like "now-9m" (now minus a duration)');
  }
  const rest = t.slice(4);
  if (rest.includes("/")) throw new DurationError("look-back", text, "date-math rounding (/d, /h, ...) is not supported in a look-back");
  return parseAmount("look-back", text, rest, ["s", "m", "h", "H", "d", "w"], true);
}

function parseAmount(what: "duration" | "look-back", input: string, text: string, units: readonly string[], zeroOk: boolean): number {
  const m = DURATION.exec(text.trim());
  const allowed = units.join(", ");
  if (m === null) throw new DurationError(what, input, `expected a whole number followed by a unit (${allowed}), e.g. "5m"`);
  const amount = Number(m[1]);
  const unit = m[2]!;
  if (unit === "M" || unit === "y") {
    throw new DurationError(what, input, `calendar unit "${unit}" has no fixed length; use ${allowed}`);
  }
  if (!units.includes(unit)) throw new DurationError(what, input, `unknown unit "${unit}" (expected one of ${allowed})`);
  if (amount === 0 && !zeroOk) throw new DurationError(what, input, "must be greater than zero");
  const ms = amount * UNIT_MS[unit]!;
  if (!Number.isSafeInteger(ms)) throw new DurationError(what, input, "too large");
  return ms;
}
