/**
 * Wildcard patterns of `:` and `like`: `*` matches any sequence, `?` one character (code point);
 * every other character, backslash included, is literal, as in Elasticsearch.
 *
 * Matching is linear in the input for a given pattern: the pattern splits on `*` into segments;
 * the first is anchored at the start, the last at the end, and each middle segment takes its
 * leftmost occurrence (which is always optimal), so there is no backtracking.
 */
export type StringMatcher = (s: string) => boolean;

export function hasWildcards(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

export function compileWildcard(pattern: string): StringMatcher {
  if (!hasWildcards(pattern)) return (s) => s === pattern;
  const segments = pattern.split("*");
  if (segments.length === 1) {
    // only `?`: the whole string must match the segment exactly
    const seg = segments[0]!;
    return (s) => matchForward(s, 0, seg) === s.length;
  }
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((x) => x.length > 0);
  const firstPlain = !first.includes("?");
  const lastPlain = !last.includes("?");
  // Fast shapes: "*x*", "x*", "*x" without `?`.
  if (firstPlain && lastPlain && middle.length === 0) {
    if (first === "" && last === "") return () => true;
    if (first === "") return (s) => s.endsWith(last);
    if (last === "") return (s) => s.startsWith(first);
    return (s) => s.length >= first.length + last.length && s.startsWith(first) && s.endsWith(last);
  }
  if (first === "" && last === "" && middle.length === 1 && !middle[0]!.includes("?")) {
    const m = middle[0]!;
    return (s) => s.includes(m);
  }
  return (s) => {
    let pos = 0;
    if (first !== "") {
      pos = firstPlain ? (s.startsWith(first) ? first.length : -1) : matchForward(s, 0, first);
      if (pos < 0) return false;
    }
    let end = s.length;
    if (last !== "") {
      end = lastPlain ? (s.endsWith(last) ? s.length - last.length : -1) : matchBackward(s, s.length, last);
      if (end < pos) return false;
    }
    for (const seg of middle) {
      const found = findSegment(s, pos, end, seg);
      if (found < 0) return false;
      pos = found;
    }
    return pos <= end;
  };
}

/** Matches `seg` (literal characters and `?`) at `at`; returns the end offset or -1. */
function matchForward(s: string, at: number, seg: string): number {
  let i = at;
  for (let k = 0; k < seg.length; k++) {
    const pc = seg.charCodeAt(k);
    if (i >= s.length) return -1;
    if (pc === 63 /* ? */) {
      i += isHighSurrogatePair(s, i) ? 2 : 1;
    } else {
      if (s.charCodeAt(i) !== pc) return -1;
      i++;
    }
  }
  return i;
}

/** Matches `seg` so that it ends at `end`; returns its start offset or -1. */
function matchBackward(s: string, end: number, seg: string): number {
  let i = end;
  for (let k = seg.length - 1; k >= 0; k--) {
    const pc = seg.charCodeAt(k);
    if (i <= 0) return -1;
    if (pc === 63) {
      i -= i >= 2 && isHighSurrogatePair(s, i - 2) ? 2 : 1;
    } else {
      if (s.charCodeAt(i - 1) !== pc) return -1;
      i--;
    }
  }
  return i;
}

/** End offset of the leftmost occurrence of `seg` in s[from..limit), or -1. */
function findSegment(s: string, from: number, limit: number, seg: string): number {
  if (!seg.includes("?")) {
    const idx = s.indexOf(seg, from);
    return idx < 0 || idx + seg.length > limit ? -1 : idx + seg.length;
  }
  for (let p = from; p < limit; p++) {
    if (p > 0 && isLowSurrogate(s.charCodeAt(p)) && isHighSurrogatePair(s, p - 1)) continue;
    const e = matchForward(s, p, seg);
    if (e >= 0 && e <= limit) return e;
  }
  return -1;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function isHighSurrogatePair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1));
}
