/**
 * Escaping and length-safe rendering for Slack's mrkdwn.
 *
 * Slack parses three characters in mrkdwn (`&`, `<`, `>`): `<...>` is how mentions (`<!channel>`,
 * `<@U123>`, `<!subteam^S1>`), channel links and labelled links (`<https://x|click>`) are written.
 * Escaping those three in every string that did not come from us is what keeps an event from
 * pinging a channel or disguising a link. Everything else in mrkdwn (`*bold*`, `_it_`, `~st~`,
 * backticks) is cosmetic, so event data goes into code spans where it shows verbatim; the only way
 * out of a code span is a backtick, which is replaced by a look-alike.
 *
 * Texts are built as a small tree (`Md`) rather than as strings so that truncation knows what it
 * cuts: it never splits an entity like `&amp;`, a surrogate pair, a code span or a link, and closes
 * what it opened. A string is only ever cut by `renderMd`/`plainText`, never by slicing mrkdwn.
 */

/** A piece of mrkdwn. Only `markup` and `wrap.open/close` are trusted; all `raw` is escaped. */
export type Md =
  /** Text from anywhere: escaped, and cut between code points. */
  | { readonly kind: "text"; readonly raw: string }
  /** An inline code span: shows `raw` verbatim on one line. */
  | { readonly kind: "code"; readonly raw: string }
  /** A code block (```): shows `raw` verbatim, newlines kept. Empty renders as nothing, like `code`. */
  | { readonly kind: "pre"; readonly raw: string }
  /** Trusted mrkdwn written by this package (`*Host*`, "\n", an emoji code): never cut. */
  | { readonly kind: "markup"; readonly mrkdwn: string }
  /** Trusted delimiters around content (`*...*`, `<url|...>`): when cut, closed all the same. */
  | { readonly kind: "wrap"; readonly open: string; readonly close: string; readonly children: readonly Md[] };

export const md = {
  text: (raw: string): Md => ({ kind: "text", raw }),
  code: (raw: string): Md => ({ kind: "code", raw }),
  pre: (raw: string): Md => ({ kind: "pre", raw }),
  markup: (mrkdwn: string): Md => ({ kind: "markup", mrkdwn }),
  wrap: (open: string, close: string, children: readonly Md[]): Md => ({ kind: "wrap", open, close, children }),
  /** Bold of a label we wrote. Never pass event or rule text here: a `*` inside it ends the bold. */
  label: (trusted: string): Md => ({ kind: "markup", mrkdwn: `*${escapeMrkdwn(trusted)}*` }),
  newline: { kind: "markup", mrkdwn: "\n" } as Md,
};

/** The ellipsis appended where a text was cut. */
export const ELLIPSIS = "…";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 controls except tab, newline and carriage return, DEL, C1 controls, and the bidirectional overrides and
// isolates that can make a command line read differently from what it is ("Trojan Source").
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Makes a string safe to carry in any Slack text: lone surrogates (which Slack rejects as invalid
 * UTF-8) become U+FFFD, control and bidi-override characters become U+FFFD too.
 */
export function sanitize(raw: string): string {
  return raw.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, "\uFFFD");
}

/**
 * The escape Slack documents for mrkdwn (`&` `<` `>` as HTML entities), on one line: line breaks
 * become spaces, so that raw text can never start a line of its own (a `&gt;` quote, a list).
 * Line breaks in a rendered text are always `md.newline`, written by this package. A backtick
 * becomes a look-alike, so raw text can never open a code span that swallows what follows.
 */
export function escapeMrkdwn(raw: string): string {
  return sanitize(raw).replace(/[&<>\n\r\t`]/g, escapeChar);
}

function escapeChar(c: string): string {
  switch (c) {
    case "&":
      return "&amp;";
    case "<":
      return "&lt;";
    case ">":
      return "&gt;";
    case "\n":
    case "\r":
    case "\t":
      return " ";
    case "`":
      return BACKTICK_LOOKALIKE;
    default:
      return c;
  }
}

/** A look-alike of the backtick (MODIFIER LETTER GRAVE ACCENT): a code span cannot be closed early. */
export const BACKTICK_LOOKALIKE = "\u02CB";

/**
 * One code point of a code span, escaped. Inside a span `*`, `_` and `~` are not formatting, so only
 * the backtick (which would end the span) and, for inline spans, line breaks (which Slack does not
 * allow inside one) need replacing.
 */
function escapeCodeUnit(cp: string, inline: boolean): string {
  if (cp === "`") return BACKTICK_LOOKALIKE;
  if (inline && (cp === "\n" || cp === "\r")) return "\u21B5"; // ↵
  if (inline && cp === "\t") return " ";
  if (cp === "&" || cp === "<" || cp === ">") return escapeChar(cp);
  return cp; // newlines and tabs stay in a code block
}

/** Escapes a whole code span's content (used when nothing needs cutting). */
export function escapeCode(raw: string, inline = true): string {
  let out = "";
  for (const cp of sanitize(raw)) out += escapeCodeUnit(cp, inline);
  return out;
}

/**
 * Renders mrkdwn within `max` UTF-16 code units (what Slack's limits count, conservatively: a
 * code point outside the BMP counts 2). If the whole does not fit it is cut at a safe point, open
 * wraps and code spans are closed, and `ELLIPSIS` is appended.
 */
export function renderMd(nodes: readonly Md[], max: number): string {
  const full = nodes.map(renderFull).join("");
  if (full.length <= max) return full;
  if (max < ELLIPSIS.length) return "";
  const w = new Writer(max - ELLIPSIS.length);
  emitAll(nodes, w);
  return w.out + ELLIPSIS;
}

/** The length of the full rendering (more than a limit = `renderMd` will cut). */
export function mdLength(nodes: readonly Md[]): number {
  return nodes.reduce((n, node) => n + renderFull(node).length, 0);
}

function renderFull(node: Md): string {
  switch (node.kind) {
    case "text":
      return escapeMrkdwn(node.raw);
    case "code":
      return node.raw === "" ? "" : "`" + escapeCode(node.raw, true) + "`";
    case "pre":
      return node.raw === "" ? "" : "```" + escapeCode(node.raw, false) + "```";
    case "markup":
      return node.mrkdwn;
    case "wrap": {
      const inner = node.children.map(renderFull).join("");
      return inner === "" ? "" : node.open + inner + node.close;
    }
    default:
      return assertNever(node);
  }
}

/** Appends within a budget; once something did not fit, nothing more is written. */
class Writer {
  out = "";
  full = false;
  constructor(private budget: number) {}

  get left(): number {
    return this.budget - this.out.length;
  }

  /** Appends `s` whole or not at all. */
  put(s: string): boolean {
    if (this.full) return false;
    if (s.length > this.left) {
      this.full = true;
      return false;
    }
    this.out += s;
    return true;
  }

  /** Reserves room for a closing delimiter while `fn` writes. */
  reserve<T>(n: number, fn: () => T): T {
    this.budget -= n;
    try {
      return fn();
    } finally {
      this.budget += n;
    }
  }
}

function emitAll(nodes: readonly Md[], w: Writer): void {
  for (const node of nodes) {
    if (w.full) return;
    emit(node, w);
  }
}

function emit(node: Md, w: Writer): void {
  switch (node.kind) {
    case "text":
      for (const cp of sanitize(node.raw)) if (!w.put(escapeChar(cp))) return;
      return;
    case "code":
      if (node.raw !== "") emitSpan("`", sanitize(node.raw), true, w);
      return;
    case "pre":
      if (node.raw !== "") emitSpan("```", sanitize(node.raw), false, w);
      return;
    case "markup":
      w.put(node.mrkdwn);
      return;
    case "wrap": {
      if (renderFull(node) === "") return;
      emitWrapped(node.open, node.close, w, () => emitAll(node.children, w));
      return;
    }
    default:
      assertNever(node);
  }
}

/** A code span: open, as many escaped code points as fit, close. An empty span is not written. */
function emitSpan(fence: string, raw: string, inline: boolean, w: Writer): void {
  if (w.full) return;
  const mark = w.out.length;
  if (w.left < fence.length * 2 + 1 || !w.put(fence)) {
    w.full = true;
    return;
  }
  let wrote = 0;
  w.reserve(fence.length, () => {
    for (const cp of raw) {
      if (!w.put(escapeCodeUnit(cp, inline))) break;
      wrote++;
    }
  });
  if (wrote === 0 && raw !== "") {
    // Nothing of the content fitted: an empty span would show as stray backticks.
    w.out = w.out.slice(0, mark);
    w.full = true;
    return;
  }
  const wasFull = w.full;
  w.full = false;
  w.put(fence);
  w.full = wasFull;
}

function emitWrapped(open: string, close: string, w: Writer, body: () => void): void {
  if (w.full) return;
  const mark = w.out.length;
  if (open.length + close.length + 1 > w.left || !w.put(open)) {
    w.full = true;
    return;
  }
  const afterOpen = w.out.length;
  w.reserve(close.length, body);
  if (w.out.length === afterOpen) {
    // Nothing inside fitted: drop the opening delimiter rather than leave `**` or `<url|>`.
    w.out = w.out.slice(0, mark);
    w.full = true;
    return;
  }
  const wasFull = w.full;
  w.full = false;
  w.put(close);
  w.full = wasFull;
}

/**
 * Text for a `plain_text` object (headers, button labels), cut to `max` code units between code
 * points. Slack does not parse plain_text for mentions or links, but `<` and `>` are still replaced
 * by look-alikes so that no payload text ever contains a `<!...>` sequence a later change of the
 * text type could activate.
 */
export function plainText(raw: string, max: number): string {
  const s = sanitize(raw).replace(/\s+/g, " ").replace(/</g, "\u2039").replace(/>/g, "\u203A").trim();
  return truncateCodePoints(s, max);
}

/** Cuts `s` to at most `max` UTF-16 code units, never inside a surrogate pair, with an ellipsis. */
export function truncateCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max < ELLIPSIS.length) return "";
  let end = max - ELLIPSIS.length;
  const c = s.charCodeAt(end - 1);
  if (end > 0 && c >= 0xd800 && c <= 0xdbff) end--; // the high half of a pair would be left alone
  return s.slice(0, end) + ELLIPSIS;
}

/** Cuts a raw string to at most `max` code points (before escaping), marking the cut. */
export function clipRaw(raw: string, maxCodePoints: number): string {
  if (raw.length <= maxCodePoints) return raw;
  let n = 0;
  let i = 0;
  for (const cp of raw) {
    if (n === maxCodePoints) return raw.slice(0, i) + ELLIPSIS;
    n++;
    i += cp.length;
  }
  return raw;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
