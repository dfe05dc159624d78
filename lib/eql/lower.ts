const lowerCache = new Map<string, string>();
/** The last few long strings lower-cased (command lines tested by many rules in a row). */
const longIn: string[] = ["", "", "", "", "", "", "", ""];
const longOut: string[] = ["", "", "", "", "", "", "", ""];
let longNext = 0;
/**
 * Lower-cases with a bounded cache: hundreds of rules test the same short fields
 * (`process.name`, `host.os.type`) case-insensitively. Long strings (command lines) are kept in a
 * small ring instead: many rules test the same event's command line in a row.
 */
export function lower(s: string): string {
  if (s.length > 256) {
    for (let i = 0; i < 8; i++) if (longIn[i] === s) return longOut[i]!;
    const r = s.toLowerCase();
    longIn[longNext] = s;
    longOut[longNext] = r;
    longNext = (longNext + 1) & 7;
    return r;
  }
  let r = lowerCache.get(s);
  if (r === undefined) {
    r = s.toLowerCase();
    if (lowerCache.size >= 50_000) lowerCache.clear();
    lowerCache.set(s, r);
  }
  return r;
}
