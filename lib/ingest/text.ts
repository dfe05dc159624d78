/**
 * Text hygiene for what ingest keeps and sends on: rejected records go to an SQS queue, and SQS
 * refuses message bodies with characters outside its XML-safe set.
 */

/**
 * Code units SQS does not accept in a message body. SQS allows only #x9 | #xA | #xD |
 * #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF: everything else is a C0 control character,
 * U+FFFE, U+FFFF, or a surrogate that is not half of a pair (a string can hold one, UTF-8 cannot).
 * No `u` flag: the regex runs over UTF-16 code units so that it can see lone surrogates.
 */
const SQS_UNSAFE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Escapes every character SQS refuses as `\uXXXX` (lowercase hex, as JSON.stringify writes).
 *
 * Applied to valid JSON text the result is still valid JSON and parses to the same value: such
 * characters can only occur raw inside JSON strings, where `\uXXXX` is their escape. On other text
 * (an invalid record kept for the rejected-events queue) the escape is for reading, not lossless: a
 * literal `\u0000` already in the text looks the same.
 */
export function sqsSafeText(s: string): string {
  SQS_UNSAFE.lastIndex = 0;
  if (!SQS_UNSAFE.test(s)) return s;
  return s.replace(SQS_UNSAFE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** True when the string holds a surrogate that is not half of a pair. */
export function hasLoneSurrogate(s: string): boolean {
  if (!ANY_SURROGATE.test(s)) return false; // the common case, and a much cheaper scan
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s);
}

/** Replaces lone surrogates with U+FFFD, as a UTF-8 decoder does with invalid bytes. */
export function toWellFormed(s: string): string {
  return hasLoneSurrogate(s) ? s.replace(LONE_SURROGATE, "\uFFFD") : s;
}

/**
 * The first `max` characters of `text` and a note of how many were cut. The cut never splits a
 * surrogate pair.
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + `...[${text.length - end} more characters]`;
}

/** Text kept in a rejection: clipped, then safe for an SQS message body. */
export function rejectedText(text: string, max: number): string {
  return sqsSafeText(clipText(text, max));
}

/** A short, safe rendering of a value for an error message. */
export function describeValue(v: unknown, max = 200): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return sqsSafeText(clipText(JSON.stringify(v), max));
  return sqsSafeText(clipText(String(v), max));
}
