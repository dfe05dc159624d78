import type { Span } from "./ast.js";
import { EqlSyntaxError } from "./errors.js";

export type TokenKind = "ident" | "qident" | "string" | "number" | "keyword" | "punct" | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** Keyword or punctuation text, identifier name, or the source text of a literal. */
  readonly text: string;
  /** Unescaped string value or numeric value. */
  readonly value?: string | number;
  /** For numbers: written with a decimal point or exponent. */
  readonly decimal?: boolean;
  /** For identifiers: written as `name~` (the case-insensitive variant of a function). */
  readonly tilde?: boolean;
  readonly start: number;
  readonly end: number;
}

const KEYWORDS = new Set([
  "and", "or", "not", "in", "like", "regex", "where", "any", "sequence", "sample", "join", "by",
  "with", "maxspan", "until", "true", "false", "null", "of",
]);
/** Keywords that have a case-insensitive `~` variant. */
const TILDE_KEYWORDS = new Set(["in", "like", "regex"]);

const PUNCT2 = new Set(["==", "!=", "<=", ">=", "!["]);
const PUNCT1 = new Set(["(", ")", "[", "]", ",", ".", ":", "<", ">", "+", "-", "*", "/", "%", "|", "=", "?"]);

const isIdentStart = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 64; /* @ */
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Splits EQL source into tokens. Comments and whitespace are skipped. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  const fail = (msg: string, span: Span): never => {
    throw new EqlSyntaxError(msg, source, span);
  };

  while (i < n) {
    const c = source.charCodeAt(i);
    // whitespace
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 0xa0 || c === 0xfeff) {
      i++;
      continue;
    }
    // comments
    if (c === 47 /* / */ && source.charCodeAt(i + 1) === 47) {
      const nl = source.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 47 && source.charCodeAt(i + 1) === 42 /* * */) {
      const close = source.indexOf("*/", i + 2);
      if (close < 0) fail("unterminated block comment", { start: i, end: i + 2 });
      i = close + 2;
      continue;
    }
    const start = i;
    // strings
    if (c === 34 /* " */) {
      if (source.startsWith('"""', i)) {
        const close = source.indexOf('"""', i + 3);
        if (close < 0) fail("unterminated raw string", { start, end: start + 3 });
        // Non-greedy like Elasticsearch's lexer: the first `"""` closes the string.
        const end = close + 3;
        const value = source.slice(i + 3, close);
        tokens.push({ kind: "string", text: source.slice(start, end), value, start, end });
        i = end;
        continue;
      }
      const { value, end } = readString(source, i, fail);
      tokens.push({ kind: "string", text: source.slice(start, end), value, start, end });
      i = end;
      continue;
    }
    if (c === 63 /* ? */ && source.charCodeAt(i + 1) === 34) {
      // ?"..." : a raw single-line string (backslashes are literal, \" does not end it)
      let j = i + 2;
      while (j < n) {
        const d = source.charCodeAt(j);
        if (d === 92 && source.charCodeAt(j + 1) === 34) j += 2;
        else if (d === 34) break;
        else if (d === 10 || d === 13) fail("unterminated string", { start, end: j });
        else j++;
      }
      if (j >= n) fail("unterminated string", { start, end: n });
      tokens.push({ kind: "string", text: source.slice(start, j + 1), value: source.slice(i + 2, j), start, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === 39 /* ' */) {
      fail("single quotes are not supported; use double quotes to define a string", { start, end: start + 1 });
    }
    // backquoted identifier: `a b`, with `` for a literal backquote
    if (c === 96 /* ` */) {
      let j = i + 1;
      let name = "";
      for (;;) {
        if (j >= n) fail("unterminated quoted identifier", { start, end: n });
        const d = source.charCodeAt(j);
        if (d === 96) {
          if (source.charCodeAt(j + 1) === 96) {
            name += "`";
            j += 2;
            continue;
          }
          break;
        }
        name += source[j];
        j++;
      }
      if (name.length === 0) fail("empty quoted identifier", { start, end: j + 1 });
      tokens.push({ kind: "qident", text: name, start, end: j + 1 });
      i = j + 1;
      continue;
    }
    // numbers
    if (isDigit(c) || (c === 46 /* . */ && isDigit(source.charCodeAt(i + 1)))) {
      let j = i;
      while (isDigit(source.charCodeAt(j))) j++;
      if (source.charCodeAt(j) === 46 && !isIdentStart(source.charCodeAt(j + 1))) {
        j++;
        while (isDigit(source.charCodeAt(j))) j++;
      }
      const e = source.charCodeAt(j);
      if (e === 101 || e === 69) {
        let k = j + 1;
        const sign = source.charCodeAt(k);
        if (sign === 43 || sign === 45) k++;
        if (isDigit(source.charCodeAt(k))) {
          j = k;
          while (isDigit(source.charCodeAt(j))) j++;
        }
      }
      const text = source.slice(start, j);
      const value = Number(text);
      if (!Number.isFinite(value)) fail(`number [${text}] is out of range`, { start, end: j });
      tokens.push({ kind: "number", text, value, decimal: /[.eE]/.test(text), start, end: j });
      i = j;
      continue;
    }
    // identifiers and keywords; dotted names are one token (`process.parent.name`)
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n) {
        const d = source.charCodeAt(j);
        if (isIdentPart(d)) j++;
        else if (d === 46 && isIdentPart(source.charCodeAt(j + 1))) j += 2;
        else break;
      }
      const text = source.slice(start, j);
      const tilde = source.charCodeAt(j) === 126; /* ~ */
      if (KEYWORDS.has(text)) {
        if (tilde && TILDE_KEYWORDS.has(text)) {
          tokens.push({ kind: "keyword", text: text + "~", start, end: j + 1 });
          i = j + 1;
        } else {
          tokens.push({ kind: "keyword", text, start, end: j });
          i = j;
        }
        continue;
      }
      tokens.push({ kind: "ident", text, tilde, start, end: tilde ? j + 1 : j });
      i = tilde ? j + 1 : j;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      tokens.push({ kind: "punct", text: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    const one = source[i]!;
    if (PUNCT1.has(one)) {
      tokens.push({ kind: "punct", text: one, start, end: i + 1 });
      i++;
      continue;
    }
    const cp = source.codePointAt(i)!;
    const shown = cp < 32 || cp === 127 ? `\\u{${cp.toString(16)}}` : String.fromCodePoint(cp);
    fail(`unexpected character [${shown}]`, { start, end: i + (cp > 0xffff ? 2 : 1) });
  }
  tokens.push({ kind: "eof", text: "<EOF>", start: n, end: n });
  return tokens;
}

/** Reads a `"..."` string starting at `start` and returns its unescaped value. */
function readString(
  source: string,
  start: number,
  fail: (msg: string, span: Span) => never,
): { value: string; end: number } {
  let out = "";
  let j = start + 1;
  let chunk = j;
  const n = source.length;
  for (;;) {
    if (j >= n) fail("unterminated string", { start, end: n });
    const d = source.charCodeAt(j);
    if (d === 34) break;
    if (d === 10 || d === 13) fail("unterminated string (a string cannot span lines; use \"\"\"...\"\"\")", { start, end: j });
    if (d !== 92) {
      j++;
      continue;
    }
    out += source.slice(chunk, j);
    const e = source[j + 1];
    switch (e) {
      case "t": out += "\t"; j += 2; break;
      case "n": out += "\n"; j += 2; break;
      case "r": out += "\r"; j += 2; break;
      case "b": out += "\b"; j += 2; break;
      case "f": out += "\f"; j += 2; break;
      case '"': out += '"'; j += 2; break;
      case "'": out += "'"; j += 2; break;
      case "\\": out += "\\"; j += 2; break;
      case "u": {
        const m = /^\{([0-9a-fA-F]{2,8})\}/.exec(source.slice(j + 2, j + 14));
        if (!m) fail("invalid unicode escape; use \\u{XX} with 2 to 8 hex digits", { start: j, end: Math.min(n, j + 2) });
        const cp = parseInt(m[1]!, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          fail(`invalid unicode code point [${m[1]}]`, { start: j, end: j + 2 + m[0].length });
        }
        out += String.fromCodePoint(cp);
        j += 2 + m[0].length;
        break;
      }
      default:
        fail(
          `illegal escape sequence [\\${e ?? ""}]; valid escapes are \\t \\n \\r \\b \\f \\" \\' \\\\ and \\u{XX}`,
          { start: j, end: Math.min(n, j + 2) },
        );
    }
    chunk = j;
  }
  out += source.slice(chunk, j);
  return { value: out, end: j + 1 };
}
