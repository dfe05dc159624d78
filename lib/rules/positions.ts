/**
 * Where a rule's query string sits in its TOML file, so that an EQL error at an offset of the
 * query text can be shown at a line and column of the file.
 *
 * smol-toml does not report value positions, so we find them ourselves: a small scanner finds
 * the `query` key of the `[rule]` table (see `locateQuery`), and its string value is decoded
 * here while recording, for each decoded UTF-16 unit, the file offset it came from. The decoded
 * value must equal the parsed `rule.query`, so a scanner or decoder bug can only make us fall
 * back to an unlocated error, never point at the wrong place.
 *
 * Mapping is exact for all four TOML string forms:
 * - `'''literal'''` (what the Elastic corpus uses): the text is copied verbatim, so query offset
 *   `i` is file offset `valueStart + i`. The newline right after the opening `'''` is trimmed
 *   by TOML and is therefore not part of the query.
 * - `"""basic"""` and `"basic"`: an escape such as `\"` or `\u00e9` decodes to one character
 *   (two UTF-16 units for `\U0001F600`), which maps to the backslash; a line-ending backslash
 *   removes the following whitespace and newlines, which simply have no query offset.
 * - `'literal'`: verbatim like `'''`.
 * Columns count UTF-16 code units like `lib/eql`'s `lineCol`; a tab counts as one column.
 */

export type TomlStringStyle = "literal" | "basic" | "multiline-literal" | "multiline-basic";

export interface QueryLocation {
  readonly style: TomlStringStyle;
  /** File offset of the opening delimiter. */
  readonly start: number;
  /** File offset just after the closing delimiter. */
  readonly end: number;
  /** File offset of the query character at `queryOffset`; `query.length` maps to the closing delimiter. */
  fileOffset(queryOffset: number): number;
}

interface DecodedString {
  readonly style: TomlStringStyle;
  readonly value: string;
  /** `offsets[i]` is the file offset of decoded unit `i`; `offsets[value.length]` is the closing delimiter. */
  readonly offsets: readonly number[];
  readonly end: number;
}

/** `query =` (bare or quoted key, optionally dotted `rule.query`) at the current position. */
const QUERY_KEY = /(rule[ \t]*\.[ \t]*)?(?:query|"query"|'query')[ \t]*=[ \t]*/y;

/**
 * Finds the string value that TOML assigns to `rule.query` in `text` and checks that it decodes
 * to `query`. Null when there is none (for example when `rule` is written as an inline table)
 * or when it does not decode to `query`.
 *
 * A small scanner reads the file the way TOML does: strings (all four forms) and comments are
 * skipped whole, and brackets outside strings are counted so that a `[table]` header is only
 * recognised outside arrays and inline tables. A `query = ` key counts only at the start of a
 * line of the `[rule]` table, or as `rule.query = ` before any table. So neither a line
 * `query = '''...` inside a multi-line note nor the `query` of a `[[transform.osquery]]` table
 * can be mistaken for the rule's query.
 */
export function locateQuery(text: string, query: string): QueryLocation | null {
  let table: string | null = ""; // "" is the root table
  let depth = 0;
  let lineStart = true;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (lineStart && (c === " " || c === "\t")) {
      i++;
      continue;
    }
    if (lineStart && depth === 0) {
      if (c === "[") {
        const close = text.indexOf("]", i);
        table = close < 0 ? null : text.slice(i, close).replace(/^\[+/, "").replace(/[\s"']/g, "");
      } else {
        QUERY_KEY.lastIndex = i;
        const m = QUERY_KEY.exec(text);
        if (m !== null && (m[1] === undefined ? table === "rule" : table === "")) {
          return located(text, i + m[0].length, query);
        }
      }
    }
    lineStart = false;
    if (c === "\n") {
      lineStart = true;
      i++;
    } else if (c === "#") {
      const eol = text.indexOf("\n", i);
      i = eol < 0 ? text.length : eol;
    } else if (c === '"' || c === "'") {
      const decoded = decodeTomlString(text, i);
      if (decoded === null) return null;
      i = decoded.end;
    } else {
      if (c === "[" || c === "{") depth++;
      else if ((c === "]" || c === "}") && depth > 0) depth--;
      i++;
    }
  }
  return null;
}

function located(text: string, valueStart: number, query: string): QueryLocation | null {
  const decoded = decodeTomlString(text, valueStart);
  if (decoded === null || decoded.value !== query) return null;
  const { offsets, style, end } = decoded;
  return {
    style,
    start: valueStart,
    end,
    fileOffset: (queryOffset) => offsets[Math.max(0, Math.min(queryOffset, offsets.length - 1))] ?? valueStart,
  };
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", e: "\x1b", '"': '"', "\\": "\\",
};

/**
 * Decodes the TOML string starting at `pos` (at its opening quote). Returns null if there is no
 * well-formed string there. Follows TOML 1.0 plus the 1.1 escapes `\e` and `\xHH` (smol-toml
 * accepts both); newlines are kept as written (`\r\n` stays two units, as smol-toml keeps it).
 */
export function decodeTomlString(text: string, pos: number): DecodedString | null {
  const q = text[pos];
  if (q !== "'" && q !== '"') return null;
  const multiline = text.startsWith(q.repeat(3), pos);
  const style: TomlStringStyle = q === "'" ? (multiline ? "multiline-literal" : "literal") : multiline ? "multiline-basic" : "basic";
  let i = pos + (multiline ? 3 : 1);
  if (multiline) {
    // A newline immediately after the opening delimiter is trimmed.
    if (text.startsWith("\r\n", i)) i += 2;
    else if (text[i] === "\n") i += 1;
  }
  let value = "";
  const offsets: number[] = [];
  const push = (s: string, at: number): void => {
    value += s;
    for (let k = 0; k < s.length; k++) offsets.push(at);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === q) {
      if (!multiline) {
        offsets.push(i);
        return { style, value, offsets, end: i + 1 };
      }
      // Up to two quotes may sit right before the closing delimiter: `''''` is `'` then `'''`.
      let run = 0;
      while (text[i + run] === q) run++;
      if (run >= 3) {
        if (run > 5) return null;
        for (let k = 0; k < run - 3; k++) push(q, i + k);
        offsets.push(i + run - 3);
        return { style, value, offsets, end: i + run };
      }
      for (let k = 0; k < run; k++) push(q, i + k);
      i += run;
      continue;
    }
    if (!multiline && (c === "\n" || c === "\r")) return null;
    if (c === "\\" && q === '"') {
      const next = text[i + 1];
      if (next === undefined) return null;
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        push(simple, i);
        i += 2;
        continue;
      }
      const hexLength = next === "u" ? 4 : next === "U" ? 8 : next === "x" ? 2 : 0;
      if (hexLength > 0) {
        const hex = text.slice(i + 2, i + 2 + hexLength);
        if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== hexLength) return null;
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return null;
        push(String.fromCodePoint(code), i);
        i += 2 + hexLength;
        continue;
      }
      if (multiline) {
        // Line-ending backslash: whitespace up to the newline, then all whitespace and newlines, vanish.
        let j = i + 1;
        while (text[j] === " " || text[j] === "\t") j++;
        if (text[j] === "\n" || (text[j] === "\r" && text[j + 1] === "\n")) {
          while (j < text.length && /[ \t\r\n]/.test(text[j]!)) j++;
          i = j;
          continue;
        }
      }
      return null;
    }
    push(c, i);
    i++;
  }
  return null;
}
