/**
 * A plain-text triage card for `triage replay --triage`: the same content as the Slack card
 * (rule, severity, host, user, time, the sequence, verdicts, the first investigation steps, the
 * queries), for a terminal.
 *
 * A terminal interprets escape sequences, so no byte of event or rule text reaches it raw: C0 and
 * C1 controls (ESC included), DEL and the bidirectional overrides are shown as visible escapes
 * (`\x1b`, `\u202e`), line breaks inside a value as `\n`. Colour, when asked for, comes only from
 * this module's own constants, around text that is already safe.
 */
import type { GuideBlock, GuideListItem, Inline, ResolvedQuery, TriageResult, Verdict } from "../triage/result.js";
import { describeEvent, distinct, hostOf, queryRefLabel, userOf, type Signer } from "./event-fields.js";

export interface TerminalCardOptions {
  /** ANSI colour for headings and verdicts. @default false */
  readonly color?: boolean;
  /** Investigation steps shown. @default 5 */
  readonly maxSteps?: number;
  /** Characters of a value (a command line) shown before it is cut. @default 2000 */
  readonly valueChars?: number;
}

/** Control characters, DEL, C1, and the bidi embeddings/overrides/isolates. */
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A value safe to print: every control character as a visible escape, cut to `max` characters. */
export function termSafe(raw: string, max = Infinity): string {
  const cutRaw = raw.length > max ? cutCodePoints(raw, max) : raw;
  const safe = cutRaw.replace(LONE_SURROGATE, "\uFFFD").replace(UNSAFE, (c) => {
    switch (c) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default: {
        const code = c.charCodeAt(0);
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
      }
    }
  });
  return cutRaw === raw ? safe : `${safe}…`;
}

function cutCodePoints(s: string, max: number): string {
  let end = Math.max(0, max);
  const c = s.charCodeAt(end - 1);
  if (end > 0 && c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

const ANSI = { bold: "\u001b[1m", dim: "\u001b[2m", red: "\u001b[31m", yellow: "\u001b[33m", green: "\u001b[32m", reset: "\u001b[0m" } as const;

export function renderTerminalCard(result: TriageResult, options: TerminalCardOptions = {}): string {
  const color = options.color ?? false;
  const maxSteps = options.maxSteps ?? 5;
  const valueChars = options.valueChars ?? 2000;
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const heading = (s: string): string => paint(ANSI.bold, s);
  const v = (raw: string): string => termSafe(raw, valueChars);
  const { alert } = result;
  const out: string[] = [];

  const title = `[${alert.rule.severity.toUpperCase()}] ${alert.rule.name}`;
  out.push(heading(`== ${v(title)} ==`));
  if (result.status === "retracted") out.push(paint(ANSI.yellow, "RETRACTED: a later event invalidated this sequence"));
  const hosts = distinct(alert.events.map(hostOf));
  const users = distinct(alert.events.map(userOf));
  const row = (label: string, value: string): void => {
    out.push(`${label.padEnd(9)}${value}`);
  };
  row("alert", `${v(alert.id)}  (${result.status}, triaged ${v(result.triagedAt)})`);
  row("rule", `${v(alert.rule.id)}  risk ${alert.rule.risk_score}`);
  row("host", hosts.length > 0 ? hosts.map((h) => v(h)).join(", ") : "-");
  row("user", users.length > 0 ? users.map((u) => v(u)).join(", ") : "-");
  row("time", alert.first_seen === alert.last_seen ? v(alert.first_seen) : `${v(alert.first_seen)} -> ${v(alert.last_seen)}`);
  row("verdict", `${paintVerdict(result.verdict.verdict, paint)} (score ${result.verdict.score})`);
  for (const reason of result.verdict.reasons) row("", `- ${v(reason)}`);
  for (const t of alert.rule.threat) {
    row("att&ck", `${v(t.tactic_id)} ${v(t.tactic)}${t.technique ? ` / ${v(t.technique)}${t.technique_name ? ` ${v(t.technique_name)}` : ""}` : ""}`);
  }
  if (alert.suppressed_count > 0) row("", `${alert.suppressed_count} similar matches suppressed`);
  if (alert.flags && alert.flags.length > 0) row("flags", alert.flags.map((f) => v(f)).join(", "));
  if (result.summary !== "") {
    out.push("", heading("Summary"), `  ${v(result.summary)}`);
  }

  out.push("", heading(`Sequence (${alert.events.length} event${alert.events.length === 1 ? "" : "s"})`));
  alert.events.forEach((event, i) => {
    const ev = describeEvent(event);
    const n = `${i + 1}.`.padEnd(4);
    if (ev.kind === "missing") {
      out.push(`  ${n}(missing event: no matching event within the window)`);
      return;
    }
    out.push(`  ${n}${v(ev.time)}  ${v(ev.what)}${ev.process ? `  ${v(ev.process)}${ev.pid ? ` (pid ${v(ev.pid)})` : ""}` : ""}`);
    const detail = (s: string): void => {
      out.push(`        ${s}`);
    };
    if (ev.network) {
      for (const r of ev.network.remotes) {
        const rep = result.reputation.find((x) => x.ip === r.ip);
        const obs = result.observables.find((x) => x.type === "ip" && x.value === r.ip);
        const verdict = rep ? `${paintVerdict(rep.verdict, paint)} (score ${rep.score})` : obs?.internal ? "internal" : "no reputation";
        detail(`${r.role === "destination" ? "to" : "from"} ${v(r.port ? `${r.ip}:${r.port}` : r.ip)}${ev.network.direction ? ` (${v(ev.network.direction)})` : ""}  verdict: ${verdict}`);
      }
      if (ev.network.domain) detail(`domain: ${v(ev.network.domain)}`);
    }
    if (ev.commandLine) detail(`command line: ${v(ev.commandLine)}`);
    const parts: string[] = [];
    if (ev.parent) parts.push(`parent: ${v(ev.parent)}`);
    if (ev.signer) parts.push(`signer: ${signerText(ev.signer, v)}`);
    if (parts.length > 0) detail(parts.join("  "));
    for (const [label, value] of ev.other) detail(`${label}: ${v(value)}`);
  });

  if (result.reputation.length > 0) {
    out.push("", heading("Remote IPs"));
    for (const rep of result.reputation) {
      out.push(`  ${v(rep.ip)}  ${paintVerdict(rep.verdict, paint)} (score ${rep.score})`);
      for (const e of rep.evidence) out.push(`    ${v(e.provider)}: ${v(e.detail ?? e.reason ?? e.status)}${e.cached ? " (cached)" : ""}`);
    }
  }

  const investigation = result.guide?.sections.find((s) => s.kind === "investigation");
  if (investigation) {
    const items = stepsOf(investigation.blocks);
    out.push("", heading(`First investigation steps (${Math.min(maxSteps, items.length)} of ${items.length})`));
    for (const item of items.slice(0, maxSteps)) out.push(...itemLines(item, 1, result.queries, v));
  }
  if (result.queries.length > 0) {
    out.push("", heading("Investigate queries"));
    result.queries.forEach((q, i) => {
      out.push(`  #${i + 1} ${v(q.label)} (${q.language === "kql" ? "Timeline KQL" : "osquery SQL"})`);
      if (q.unresolved.length > 0) out.push(`     no value in the alert for: ${q.unresolved.map((f) => v(f)).join(", ")}`);
      for (const line of q.query.split("\n")) out.push(`     ${v(line)}`);
    });
  }
  return out.join("\n") + "\n";
}

function paintVerdict(verdict: Verdict, paint: (code: string, s: string) => string): string {
  switch (verdict) {
    case "malicious":
      return paint(ANSI.red, "MALICIOUS");
    case "suspicious":
      return paint(ANSI.yellow, "suspicious");
    case "benign":
      return paint(ANSI.green, "benign");
    case "internal":
      return "internal";
    case "unknown":
      return paint(ANSI.dim, "unknown");
    default:
      return assertNever(verdict);
  }
}

function signerText(s: Signer, v: (raw: string) => string): string {
  switch (s.kind) {
    case "unsigned":
      return "none (unsigned)";
    case "unknown":
      return `unknown${s.status ? ` (${v(s.status)})` : ""}`;
    case "signed":
      return `${v(s.subject)}${s.trusted === true ? " (trusted)" : s.trusted === false ? " (UNTRUSTED)" : ""}${s.status && s.status !== "trusted" ? ` ${v(s.status)}` : ""}`;
    default:
      return assertNever(s);
  }
}

function stepsOf(blocks: readonly GuideBlock[]): GuideListItem[] {
  return blocks.flatMap((b): GuideListItem[] => {
    switch (b.type) {
      case "list":
        return [...b.items];
      case "paragraph":
        return [{ inline: b.inline, children: [] }];
      case "code":
        return [{ inline: [], children: [b] }];
      default:
        return assertNever(b);
    }
  });
}

function itemLines(item: GuideListItem, depth: number, queries: readonly ResolvedQuery[], v: (raw: string) => string, marker = "-"): string[] {
  const indent = "  ".repeat(depth);
  const lines: string[] = [];
  if (item.inline.length > 0) lines.push(`${indent}${marker} ${v(inlineText(item.inline, queries))}`);
  const childDepth = depth + (item.inline.length > 0 ? 1 : 0);
  for (const child of item.children) {
    switch (child.type) {
      case "paragraph":
        lines.push(`${"  ".repeat(childDepth)}${v(inlineText(child.inline, queries))}`);
        break;
      case "code":
        for (const l of child.value.split("\n")) lines.push(`${"  ".repeat(childDepth)}  ${v(l)}`);
        break;
      case "list":
        child.items.forEach((sub, i) => lines.push(...itemLines(sub, childDepth, queries, v, child.ordered ? `${i + 1}.` : "-")));
        break;
      default:
        assertNever(child);
    }
  }
  return lines;
}

function inlineText(nodes: readonly Inline[], queries: readonly ResolvedQuery[]): string {
  return nodes.map((n) => {
    switch (n.type) {
      case "text":
        return n.value.replace(/\r?\n/g, " "); // a soft line break of the Markdown source
      case "code":
        return `\`${n.value}\``;
      case "strong":
      case "emphasis":
        return inlineText(n.children, queries);
      case "link": {
        const label = inlineText(n.children, queries);
        return label === n.url ? n.url : `${label} (${n.url})`;
      }
      case "query":
        return queryRefLabel(n.ref, queries);
      default:
        return assertNever(n);
    }
  }).join("");
}

function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
