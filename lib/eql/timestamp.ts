/**
 * Event time at full precision. Elastic Defend writes 100 ns ticks and nanoseconds since the epoch
 * exceed 2^53, so times are BigInt nanoseconds.
 *
 * Accepted: ISO 8601 with `Z` or an offset and 0 to 9 fractional digits, epoch milliseconds as a
 * number or a string of digits.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)$/;
const EPOCH_MS = /^-?\d{1,16}(?:\.\d{1,6})?$/;
const NS_PER_MS = 1_000_000n;

/** Nanoseconds since the epoch, or null when the value is not a timestamp we accept. */
export function parseTimestamp(v: unknown): bigint | null {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Math.abs(v) > 8.64e15) return null;
    const ms = Math.trunc(v);
    const frac = Math.round((v - ms) * 1e6);
    return BigInt(ms) * NS_PER_MS + BigInt(frac);
  }
  if (typeof v !== "string" || v.length > 64) return null;
  const fast = parseUtcFast(v);
  if (fast !== null) return fast;
  if (EPOCH_MS.test(v)) return parseTimestamp(Number(v));
  const m = ISO.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as [string, string, string, string, string, string, string | undefined, string | undefined, string];
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s ?? "0");
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  let offsetMin = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000;
  const ns = frac ? BigInt(frac.padEnd(9, "0")) : 0n;
  return BigInt(ms) * NS_PER_MS + ns;
}

/**
 * The form nearly every event has, `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`, read digit by digit (the
 * general regex path is several times slower and runs once per event). Null when it is not that
 * form; the general path then decides.
 */
function parseUtcFast(v: string): bigint | null {
  const n = v.length;
  if (n < 20 || n > 30 || v.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return null;
  const d = (i: number) => v.charCodeAt(i) - 48;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (d(i) < 0 || d(i) > 9) return null;
  const year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const month = d(5) * 10 + d(6);
  const day = d(8) * 10 + d(9);
  const hour = d(11) * 10 + d(12);
  const minute = d(14) * 10 + d(15);
  const second = d(17) * 10 + d(18);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  let frac = 0;
  if (n > 20) {
    if (v.charCodeAt(19) !== 46 /* . */ || n === 21) return null;
    let scale = 100_000_000;
    for (let i = 20; i < n - 1; i++) {
      const x = d(i);
      if (x < 0 || x > 9) return null;
      frac += x * scale;
      scale /= 10;
    }
  }
  return BigInt(Date.UTC(year, month - 1, day, hour, minute, second)) * NS_PER_MS + BigInt(frac);
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS[month - 1]!;
}

/** ISO 8601 text with nanoseconds for a BigInt time, e.g. `2024-01-01T00:00:00.123456789Z`. */
export function formatTimestamp(ns: bigint): string {
  const ms = ns / NS_PER_MS - (ns % NS_PER_MS < 0n ? 1n : 0n);
  const rest = ns - ms * NS_PER_MS;
  const iso = new Date(Number(ms)).toISOString(); // ...sss Z
  const sub = rest === 0n ? "" : rest.toString().padStart(6, "0").replace(/0+$/, "");
  return iso.slice(0, -1) + sub + "Z";
}
