import { RE2JS } from "re2js";
import type { StringMatcher } from "./wildcard.js";

/**
 * `regex` patterns use Lucene's regular-expression syntax and must match the whole string.
 * They are translated to RE2 syntax and run on re2js, whose matching is linear in the input:
 * a backtracking RegExp on an attacker-sized command line could take quadratic or worse time.
 *
 * Lucene syntax: `.` any character (newlines too), `? * + {n} {n,} {n,m}`, `|`, `( )`,
 * `[...]` / `[^...]` with ranges, `"..."` literal strings, `\c` escapes any character,
 * `\d \D \s \S \w \W`, `@` any string, `#` the empty language. `^` and `$` are plain characters.
 * Complement `~`, intersection `&` and numeric intervals `<n-m>` have no linear-time RE2
 * equivalent and are rejected with an error that says so (escape them to match them literally).
 */
export class LuceneRegexError extends Error {
  override readonly name = "LuceneRegexError";
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

const RE2_META = new Set([..."\\.+*?()|[]{}^$"]);
const CLASS_META = new Set([..."\\]^-["]);

export function luceneToRe2(pattern: string): string {
  let i = 0;
  const n = pattern.length;
  const fail = (msg: string, at = i): never => {
    throw new LuceneRegexError(msg, at);
  };
  const lit = (ch: string) => (RE2_META.has(ch) ? "\\" + ch : ch);
  const cp = () => String.fromCodePoint(pattern.codePointAt(i)!);

  const union = (): string => {
    const parts = [concat()];
    while (i < n && pattern[i] === "|") {
      i++;
      parts.push(concat());
    }
    return parts.length === 1 ? parts[0]! : parts.map((p) => `(?:${p})`).join("|");
  };
  const concat = (): string => {
    let out = "";
    while (i < n && pattern[i] !== "|" && pattern[i] !== ")") {
      if (pattern[i] === "&") fail("the Lucene intersection operator [&] is not supported; escape it as \\& to match a literal &");
      out += repeat();
    }
    return out;
  };
  const repeat = (): string => {
    let atom = simple();
    for (;;) {
      const c = pattern[i];
      if (c === "?" || c === "*" || c === "+") {
        i++;
        atom = `(?:${atom})${c}`;
      } else if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) return fail("invalid repetition; expected {n}, {n,} or {n,m}");
        const min = Number(m[1]);
        const max = m[3] === undefined || m[3] === "" ? null : Number(m[3]);
        if (min > 1000 || (max !== null && max > 1000)) fail("repetition count above 1000 is not supported");
        if (max !== null && max < min) fail(`invalid repetition {${min},${max}}: the maximum is below the minimum`);
        i += m[0].length;
        atom = `(?:${atom}){${m[1]}${m[2] ?? ""}}`;
      } else return atom;
    }
  };
  const simple = (): string => {
    const c = pattern[i]!;
    switch (c) {
      case "(": {
        const open = i;
        i++;
        if (pattern[i] === ")") {
          i++;
          return "(?:)";
        }
        const inner = union();
        if (pattern[i] !== ")") fail("unclosed group (", open);
        i++;
        return `(?:${inner})`;
      }
      case "[":
        return charClass();
      case ".":
        i++;
        return "(?s:.)";
      case "@":
        i++;
        return "(?s:.*)";
      case "#":
        i++;
        return "[^\\x{0}-\\x{10FFFF}]";
      case "~":
        return fail("the Lucene complement operator [~] is not supported; escape it as \\~ to match a literal ~");
      case "<":
        return fail("Lucene numeric intervals <n-m> are not supported; escape < as \\< to match it literally");
      case '"': {
        const close = pattern.indexOf('"', i + 1);
        if (close < 0) fail('unterminated quoted string "');
        const s = pattern.slice(i + 1, close);
        i = close + 1;
        return [...s].map(lit).join("");
      }
      case "\\": {
        i++;
        if (i >= n) fail("the pattern ends with a lone backslash");
        const e = pattern[i]!;
        const shorthand: Record<string, string> = {
          d: "[0-9]", D: "[^0-9]", s: "[ \\t\\n\\x0B\\f\\r]", S: "[^ \\t\\n\\x0B\\f\\r]", w: "[a-zA-Z_0-9]", W: "[^a-zA-Z_0-9]",
        };
        if (shorthand[e]) {
          i++;
          return shorthand[e];
        }
        const ch = cp();
        i += ch.length;
        return lit(ch);
      }
      case "*": case "+": case "?": case "{":
        return fail(`nothing to repeat before [${c}]`);
      case "]": case "}":
      default: {
        const ch = cp();
        i += ch.length;
        return lit(ch);
      }
    }
  };
  const charClass = (): string => {
    const open = i;
    i++; // [
    let negate = false;
    if (pattern[i] === "^") {
      negate = true;
      i++;
    }
    let body = "";
    let count = 0;
    while (i < n && pattern[i] !== "]") {
      const from = classChar();
      if (pattern[i] === "-" && i + 1 < n && pattern[i + 1] !== "]") {
        i++;
        const to = classChar();
        if (to.codePointAt(0)! < from.codePointAt(0)!) fail(`invalid character range ${from}-${to}`);
        body += classLit(from) + "-" + classLit(to);
      } else body += classLit(from);
      count++;
    }
    if (i >= n) fail("unclosed character class [", open);
    if (count === 0) fail("empty character class []", open);
    i++; // ]
    return `[${negate ? "^" : ""}${body}]`;
  };
  const classChar = (): string => {
    if (pattern[i] === "\\") {
      i++;
      if (i >= n) fail("the pattern ends with a lone backslash");
    }
    const ch = cp();
    i += ch.length;
    return ch;
  };
  const classLit = (ch: string) => (CLASS_META.has(ch) ? "\\" + ch : ch);

  const out = union();
  if (i < n) fail(`unbalanced [${pattern[i]}]`);
  return out;
}

/** Compiles a Lucene regex into a whole-string matcher running in linear time. Throws LuceneRegexError. */
export function compileLuceneRegex(pattern: string, caseInsensitive: boolean): StringMatcher {
  // Rules repeat patterns, and the stage index compiles its tests again: compiled patterns are
  // shared (an RE2JS pattern is immutable; each `matches` call uses its own matcher).
  const key = (caseInsensitive ? "i" : "c") + pattern;
  let m = compiledPatterns.get(key);
  if (m === undefined) {
    m = compileUncached(pattern, caseInsensitive);
    if (compiledPatterns.size >= MAX_COMPILED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(key, m);
  }
  return m;
}

const compiledPatterns = new Map<string, StringMatcher>();
const MAX_COMPILED_PATTERNS = 10_000;

function compileUncached(pattern: string, caseInsensitive: boolean): StringMatcher {
  const re2 = luceneToRe2(pattern);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(re2, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    throw new LuceneRegexError(`invalid regular expression: ${(err as Error).message}`, 0);
  }
  return (s) => compiled.matches(s);
}
