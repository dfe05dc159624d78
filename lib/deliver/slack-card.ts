/**
 * Slack messages built from a triage result: the triage card, the full guide as thread replies
 * (bot mode), the retraction follow-up and the alert-storm digest.
 *
 * Safety rules every builder here keeps (tested with hostile input):
 * - Every string from an event, a provider or the triage result goes through `Md` text or code
 *   nodes and is escaped (`&`, `<`, `>`), in blocks and in the top-level `text` fallback; event
 *   values are shown in code spans. No builder writes `<!...>` or `<@...>` itself.
 * - Links (`<url|label>`) come only from the rule's own guide (`link` inlines with an http(s) URL),
 *   never from event data; mrkdwn objects are `verbatim` so Slack does not auto-link a URL or a
 *   channel name that appears in a command line. `link_names` is false and unfurling is off.
 * - Slack's limits hold by construction: at most 50 blocks, 3,000 characters per section text,
 *   2,000 per field and at most 10 fields, 150 per header; texts are cut only by `renderMd`, which
 *   never breaks an entity, a code span or a link.
 */
import type {
  GuideBlock, GuideListItem, GuideSection, Inline, IpReputation, ResolvedQuery, TriageResult, Verdict,
} from "../triage/result.js";
import type { DeliveryMark } from "../store/delivery-marks.js";
import type { DigestSummary } from "./digest.js";
import { describeEvent, distinct, hostOf, queryRefLabel, userOf, type Signer } from "./event-fields.js";
import { assertNever, clipRaw, md, mdLength, plainText, renderMd, type Md } from "./slack-escape.js";

export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  fieldText: 2000,
  fieldsPerSection: 10,
  headerText: 150,
  contextElements: 10,
  /** Our cap for the top-level `text` (Slack's own is 40,000; notifications show far less). */
  fallbackText: 3000,
} as const;

export interface PlainTextObject {
  readonly type: "plain_text";
  readonly text: string;
  readonly emoji: boolean;
}

export interface MrkdwnObject {
  readonly type: "mrkdwn";
  readonly text: string;
  /** No auto-linking of URLs, channel names or mentions in what we send. */
  readonly verbatim: true;
}

export type SlackBlock =
  | { readonly type: "header"; readonly text: PlainTextObject }
  | { readonly type: "section"; readonly text: MrkdwnObject }
  | { readonly type: "section"; readonly fields: readonly MrkdwnObject[] }
  | { readonly type: "divider" }
  | { readonly type: "context"; readonly elements: readonly MrkdwnObject[] };

/** A message for either posting mode; the client adds `channel` and `thread_ts` in bot mode. */
export interface SlackMessage {
  /** Notification and fallback text, escaped like the blocks. */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
  readonly unfurl_links: false;
  readonly unfurl_media: false;
  readonly link_names: false;
}

export interface CardOptions {
  /** Investigation steps shown on the card (top-level list items of the investigation section). */
  readonly maxSteps?: number;
  /** Events shown in the timeline; the rest are counted. */
  readonly maxTimelineEvents?: number;
  /** Investigate queries shown on the card; the thread reply has them all. */
  readonly maxQueries?: number;
  /** Code points of a command line shown before it is cut. */
  readonly commandLineChars?: number;
  /** Where the rest lives, for the "more" notes ("in the thread", "in the ticket"). */
  readonly moreWhere?: string;
}

const CARD_DEFAULTS: Required<CardOptions> = {
  maxSteps: 5,
  maxTimelineEvents: 8,
  maxQueries: 3,
  commandLineChars: 600,
  moreWhere: "in the thread",
};

/** Upper bounds on the options, so that the block budget below always holds. */
const CARD_CAPS = { maxSteps: 40, maxTimelineEvents: 15, maxQueries: 10 } as const;

const VERDICT_EMOJI: Record<Verdict, string> = {
  malicious: ":red_circle:",
  suspicious: ":large_orange_circle:",
  unknown: ":white_circle:",
  benign: ":large_green_circle:",
  internal: ":house:",
};

const SEVERITY_EMOJI: Record<string, string> = {
  critical: ":rotating_light:",
  high: ":red_circle:",
  medium: ":large_orange_circle:",
  low: ":large_yellow_circle:",
};

// ---------------------------------------------------------------------------------------------
// The card

/** The triage card for one alert. */
export function buildSlackCard(result: TriageResult, options: CardOptions = {}): SlackMessage {
  const o = cardOptions(options);
  const { alert } = result;
  const blocks: SlackBlock[] = [];

  blocks.push(header(`${SEVERITY_EMOJI[alert.rule.severity.toLowerCase()] ?? ":white_circle:"} ${alert.rule.name}`));
  if (result.status === "retracted") {
    blocks.push(section([md.markup(":leftwards_arrow_with_hook: "), md.label("Retracted"), md.text(": a later event invalidated this sequence.")]));
  }
  blocks.push(fieldsSection(cardFields(result)));
  if (result.summary.trim() !== "") blocks.push(section([md.text(result.summary)]));

  // The sequence as a short timeline: one section per event.
  blocks.push({ type: "divider" });
  const events = alert.events;
  blocks.push(section([md.label("Sequence"), md.text(` (${plural(events.length, "event")}, ${alert.first_seen} → ${alert.last_seen})`)]));
  events.slice(0, o.maxTimelineEvents).forEach((event, i) => {
    blocks.push(section(eventLines(event, i, result, o).flatMap((line, j) => (j === 0 ? line : [md.newline, md.markup("      "), ...line]))));
  });
  if (events.length > o.maxTimelineEvents) {
    blocks.push(contextLine([md.text(`… and ${plural(events.length - o.maxTimelineEvents, "more event")} ${o.moreWhere}`)]));
  }

  // Verdict per remote IP.
  const ipLines = reputationLines(result);
  if (ipLines.length > 0) blocks.push(...packSections([[md.label("Remote IPs")], ...ipLines], 2, "lines of remote IPs"));

  // The first investigation steps and the copyable queries.
  const steps = investigationSteps(result);
  if (steps.length > 0) {
    blocks.push({ type: "divider" });
    const shown = steps.slice(0, o.maxSteps);
    const lines: Line[] = [[md.label("First investigation steps")]];
    for (const s of shown) lines.push(...listItemLines(s, 0, result.queries, 2));
    blocks.push(...packSections(lines, 3, "lines of steps"));
    if (steps.length > shown.length) blocks.push(contextLine([md.text(`${plural(steps.length - shown.length, "more step")} ${o.moreWhere}`)]));
  }
  const queries = result.queries.slice(0, o.maxQueries);
  queries.forEach((q, i) => blocks.push(section(queryMd(q, i))));
  if (result.queries.length > queries.length) {
    blocks.push(contextLine([md.text(`${plural(result.queries.length - queries.length, "more query", "more queries")} ${o.moreWhere}`)]));
  }

  blocks.push(context(contextParts(result)));
  return message(fallbackText(result), fitBlocks(blocks));
}

function cardOptions(options: CardOptions): Required<CardOptions> {
  const o = { ...CARD_DEFAULTS, ...options };
  return {
    ...o,
    maxSteps: clampInt(o.maxSteps, 0, CARD_CAPS.maxSteps),
    maxTimelineEvents: clampInt(o.maxTimelineEvents, 0, CARD_CAPS.maxTimelineEvents),
    maxQueries: clampInt(o.maxQueries, 0, CARD_CAPS.maxQueries),
    commandLineChars: clampInt(o.commandLineChars, 16, 2_500),
  };
}

function cardFields(result: TriageResult): Md[][] {
  const { alert } = result;
  const hosts = distinct(alert.events.map(hostOf));
  const users = distinct(alert.events.map(userOf));
  const fields: Md[][] = [
    [md.label("Severity"), md.newline, md.text(`${alert.rule.severity} (risk ${alert.rule.risk_score})`)],
    [md.label("Verdict"), md.newline, md.markup(`${VERDICT_EMOJI[result.verdict.verdict]} `), md.text(`${result.verdict.verdict} (score ${result.verdict.score})`)],
    [md.label("Host"), md.newline, ...codeList(hosts, 3)],
    [md.label("User"), md.newline, ...codeList(users, 3)],
    [md.label("Time"), md.newline, md.text(alert.first_seen === alert.last_seen ? alert.first_seen : `${alert.first_seen} → ${alert.last_seen}`)],
  ];
  const techniques = alert.rule.threat.filter((t) => t.technique);
  if (techniques.length > 0) {
    fields.push([md.label("ATT&CK"), md.newline, ...joinMd(techniques.map((t) => [md.text(`${t.technique}${t.technique_name ? ` ${t.technique_name}` : ""}`)]), md.newline)]);
  }
  if (alert.group.by.length > 0) fields.push([md.label("Grouped by"), md.newline, ...codeList(alert.group.by.map((v) => v ?? "null"), 3)]);
  return fields;
}

function contextParts(result: TriageResult): Md[][] {
  const { alert } = result;
  const parts: Md[][] = [
    [md.text("alert "), md.code(alert.id)],
    [md.text("rule "), md.code(alert.rule.id)],
    [md.text(`triaged ${result.triagedAt}`)],
  ];
  if (alert.suppressed_count > 0) parts.push([md.text(`${alert.suppressed_count} similar matches suppressed`)]);
  if (alert.flags && alert.flags.length > 0) parts.push([md.text("flags: "), ...codeList(alert.flags, 5)]);
  if (result.guide?.aiGenerated) parts.push([md.text("guide partly AI-generated")]);
  return parts;
}

function fallbackText(result: TriageResult): string {
  const { alert } = result;
  const host = distinct(alert.events.map(hostOf))[0];
  const user = distinct(alert.events.map(userOf))[0];
  const parts = [`${result.status === "retracted" ? "[retracted] " : ""}[${alert.rule.severity.toUpperCase()}] ${alert.rule.name}`];
  if (host) parts.push(`host ${host}`);
  if (user) parts.push(`user ${user}`);
  parts.push(`verdict ${result.verdict.verdict}`);
  return renderMd([md.text(parts.join(" | "))], SLACK_LIMITS.fallbackText);
}

// ---------------------------------------------------------------------------------------------
// Timeline

type Line = readonly Md[];

/** The lines describing one event: what happened, then its details (command line, parent, signer, verdict). */
function eventLines(event: Record<string, unknown>, index: number, result: TriageResult, o: Required<CardOptions>): Line[] {
  const n = md.markup(`*${index + 1}.* `);
  const v = describeEvent(event);
  if (v.kind === "missing") return [[n, md.markup("_missing event_"), md.text(" (no matching event within the window)")]];
  const head: Md[] = [n, md.code(v.time), md.text(` ${v.what}`)];
  if (v.process) {
    head.push(md.text(" · "), md.code(v.process));
    if (v.pid) head.push(md.text(` (pid ${v.pid})`));
  }
  const lines: Line[] = [head];
  if (v.network) {
    for (const r of v.network.remotes) {
      const line: Md[] = [md.text(`${r.role === "destination" ? "to" : "from"} `), md.code(r.port ? `${r.ip}:${r.port}` : r.ip)];
      if (v.network.direction) line.push(md.text(` (${v.network.direction})`));
      line.push(md.text(" · "), ...ipVerdictMd(r.ip, result));
      lines.push(line);
    }
    if (v.network.domain) lines.push([md.text("domain "), md.code(v.network.domain)]);
  }
  if (v.commandLine) lines.push([md.text("command line "), md.code(clipRaw(v.commandLine, o.commandLineChars))]);
  const detail: Md[] = [];
  if (v.parent) detail.push(md.text("parent "), md.code(v.parent));
  if (v.signer) {
    if (detail.length > 0) detail.push(md.text(" · "));
    detail.push(md.text("signer "), ...signerMd(v.signer));
  }
  if (detail.length > 0) lines.push(detail);
  for (const [label, value] of v.other) lines.push([md.text(`${label} `), md.code(clipRaw(value, o.commandLineChars))]);
  return lines;
}

function signerMd(s: Signer): Md[] {
  switch (s.kind) {
    case "unsigned":
      return [md.markup("*none* (unsigned)")];
    case "unknown":
      return [md.markup("_unknown_"), ...(s.status ? [md.text(` (${s.status})`)] : [])];
    case "signed": {
      const out: Md[] = [md.code(s.subject)];
      if (s.trusted === true) out.push(md.text(" (trusted)"));
      else if (s.trusted === false) out.push(md.markup(" *(untrusted)*"));
      if (s.status && s.status !== "trusted") out.push(md.text(` ${s.status}`));
      return out;
    }
    default:
      return assertNever(s);
  }
}

function ipVerdictMd(ip: string, result: TriageResult): Md[] {
  const rep = result.reputation.find((r) => r.ip === ip);
  if (rep) return [md.markup(`${VERDICT_EMOJI[rep.verdict]} `), md.text(`${rep.verdict} (score ${rep.score})`)];
  const obs = result.observables.find((x) => x.type === "ip" && x.value === ip);
  if (obs?.internal) return [md.markup(`${VERDICT_EMOJI.internal} `), md.text("internal")];
  return [md.text("no reputation")];
}

function reputationLines(result: TriageResult): Line[] {
  const lines: Line[] = result.reputation.map((rep) => [md.code(rep.ip), md.text(" "), ...reputationMd(rep)]);
  for (const obs of result.observables) {
    if (obs.type === "ip" && obs.role === "remote" && obs.internal && !result.reputation.some((r) => r.ip === obs.value)) {
      lines.push([md.code(obs.value), md.markup(` ${VERDICT_EMOJI.internal} `), md.text("internal address, not looked up")]);
    }
  }
  return lines;
}

function reputationMd(rep: IpReputation): Md[] {
  const out: Md[] = [md.markup(`${VERDICT_EMOJI[rep.verdict]} `), md.text(`${rep.verdict} (score ${rep.score})`)];
  const notes = rep.evidence.map((e) => `${e.provider}: ${e.detail ?? e.reason ?? e.status}`);
  if (notes.length > 0) out.push(md.text(` · ${notes.join("; ")}`));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Guide

/** The investigation section's steps: its list items, and its other blocks as steps of their own. */
function investigationSteps(result: TriageResult): GuideListItem[] {
  const section = result.guide?.sections.find((s) => s.kind === "investigation");
  if (!section) return [];
  return blocksAsItems(section.blocks);
}

function blocksAsItems(blocks: readonly GuideBlock[]): GuideListItem[] {
  const items: GuideListItem[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case "list":
        items.push(...b.items);
        break;
      case "paragraph":
        items.push({ inline: b.inline, children: [] });
        break;
      case "code":
        items.push({ inline: [], children: [b] });
        break;
      default:
        assertNever(b);
    }
  }
  return items;
}

const BULLETS = ["•", "◦", "▪"] as const;

/** One list item as lines: its bullet line, then nested blocks indented, down to `maxDepth`. */
function listItemLines(item: GuideListItem, depth: number, queries: readonly ResolvedQuery[], maxDepth: number, marker?: string): Line[] {
  const indent = md.markup("    ".repeat(depth));
  const bullet = md.markup(`${marker ?? BULLETS[Math.min(depth, BULLETS.length - 1)]} `);
  const lines: Line[] = [];
  if (item.inline.length > 0) lines.push([indent, bullet, ...inlineMd(item.inline, queries)]);
  for (const child of item.children) lines.push(...blockLines(child, depth + (item.inline.length > 0 ? 1 : 0), queries, maxDepth));
  return lines;
}

function blockLines(block: GuideBlock, depth: number, queries: readonly ResolvedQuery[], maxDepth: number): Line[] {
  if (depth > maxDepth) return [];
  const indent = md.markup("    ".repeat(depth));
  switch (block.type) {
    case "paragraph":
      return [[indent, ...inlineMd(block.inline, queries)]];
    case "code":
      return [[md.pre(block.value)]];
    case "list":
      return block.items.flatMap((item, i) => listItemLines(item, depth, queries, maxDepth, block.ordered ? `${i + 1}.` : undefined));
    default:
      return assertNever(block);
  }
}

/** Guide inlines as mrkdwn. Links survive only with an http(s) URL Slack cannot misread. */
export function inlineMd(nodes: readonly Inline[], queries: readonly ResolvedQuery[]): Md[] {
  const out: Md[] = [];
  for (const node of nodes) {
    switch (node.type) {
      case "text":
        out.push(md.text(node.value));
        break;
      case "code":
        out.push(md.code(node.value));
        break;
      case "strong":
        out.push(...delimited("*", flatten(node.children, queries)));
        break;
      case "emphasis":
        out.push(...delimited("_", flatten(node.children, queries)));
        break;
      case "link": {
        const label = flatten(node.children, queries).trim();
        if (isSafeUrl(node.url)) out.push(md.wrap(`<${node.url.replace(/&/g, "&amp;")}|`, ">", [md.text(label || node.url)]));
        else out.push(md.text(label || node.url));
        break;
      }
      case "query":
        out.push(md.text(queryRefLabel(node.ref, queries)));
        break;
      default:
        assertNever(node);
    }
  }
  return out;
}

/**
 * Bold or italic around rule text: the delimiter inside the text is replaced by a look-alike
 * (it would end the formatting early), and edge spaces move outside (Slack ignores `* x*`).
 */
function delimited(delimiter: "*" | "_", text: string): Md[] {
  const inner = text.split(delimiter).join(delimiter === "*" ? "\u2217" : "\uFF3F").trim();
  if (inner === "") return text === "" ? [] : [md.text(" ")];
  const out: Md[] = [];
  if (/^\s/.test(text)) out.push(md.text(" "));
  out.push(md.wrap(delimiter, delimiter, [md.text(inner)]));
  if (/\s$/.test(text)) out.push(md.text(" "));
  return out;
}

function flatten(nodes: readonly Inline[], queries: readonly ResolvedQuery[]): string {
  return nodes.map((n) => {
    switch (n.type) {
      case "text":
      case "code":
        return n.value;
      case "strong":
      case "emphasis":
      case "link":
        return flatten(n.children, queries);
      case "query":
        return queryRefLabel(n.ref, queries);
      default:
        return assertNever(n);
    }
  }).join("");
}

/** An http(s) URL with nothing that could end the `<url|label>` markup or hide its target. */
function isSafeUrl(url: string): boolean {
  return url.length <= 2000 && /^https?:\/\/[^\s<>|"`\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]+$/i.test(url);
}

function queryMd(q: ResolvedQuery, index: number): Md[] {
  const out: Md[] = [
    md.markup(`*#${index + 1}* `), md.text(q.label), md.text(` (${q.language === "kql" ? "Timeline KQL" : "osquery SQL"})`),
  ];
  if (q.description) out.push(md.newline, ...delimited("_", q.description));
  if (q.unresolved.length > 0) out.push(md.newline, md.text("no value in the alert for "), ...codeList(q.unresolved, 5));
  out.push(md.newline, md.pre(q.query));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Thread replies (bot mode): the full guide

export interface GuideReplyOptions {
  /** At most this many messages; the last one says what was left out. */
  readonly maxMessages?: number;
}

/**
 * The whole guide and every resolved query, as thread replies under the card. Sections longer
 * than one text are split by line; a message holds at most 50 blocks; one that would exceed
 * `maxMessages` is replaced by a note.
 */
export function buildGuideReplies(result: TriageResult, options: GuideReplyOptions = {}): SlackMessage[] {
  const maxMessages = clampInt(options.maxMessages ?? 5, 1, 20);
  const blocks: SlackBlock[] = [];
  for (const s of result.guide?.sections ?? []) blocks.push(...guideSectionBlocks(s, result.queries));
  if (result.queries.length > 0) {
    blocks.push(section([md.label("Investigate queries")]));
    result.queries.forEach((q, i) => blocks.push(section(queryMd(q, i))));
  }
  if (blocks.length === 0) return [];
  const name = result.alert.rule.name;
  const perMessage = SLACK_LIMITS.blocksPerMessage;
  const chunks: SlackBlock[][] = [];
  for (let i = 0; i < blocks.length; i += perMessage) chunks.push(blocks.slice(i, i + perMessage));
  if (chunks.length > maxMessages) {
    const kept = chunks.slice(0, maxMessages);
    const last = kept[maxMessages - 1]!;
    last.splice(perMessage - 1, Infinity, contextLine([md.text("The rest of the guide is in the rule and the ticket.")]));
    chunks.length = 0;
    chunks.push(...kept);
  }
  return chunks.map((chunk, i) => message(
    renderMd([md.text(`Investigation guide: ${name}${chunks.length > 1 ? ` (${i + 1}/${chunks.length})` : ""}`)], SLACK_LIMITS.fallbackText),
    chunk,
  ));
}

function guideSectionBlocks(s: GuideSection, queries: readonly ResolvedQuery[]): SlackBlock[] {
  const lines: Line[] = [delimited("*", s.title || s.kind)];
  for (const b of s.blocks) lines.push(...blockLines(b, 0, queries, 8));
  return packSections(lines, Infinity, "");
}

// ---------------------------------------------------------------------------------------------
// Retraction and digest

export interface RetractionOptions {
  /** Bot mode: the reply goes under the card, so it can be short. */
  readonly threaded: boolean;
}

/** The follow-up when a late event invalidates an alert that was already delivered. */
export function buildRetractionMessage(result: TriageResult, options: RetractionOptions): SlackMessage {
  const { alert } = result;
  const hosts = distinct(alert.events.map(hostOf));
  const body: Md[] = [md.markup(":leftwards_arrow_with_hook: "), md.label("Alert retracted"), md.text(": a later event invalidated the sequence")];
  if (!options.threaded) {
    // Not under the card: say which card this is about.
    body.push(md.text(" of "), md.text(alert.rule.name));
    if (hosts.length > 0) body.push(md.text(" on "), ...codeList(hosts, 3));
    body.push(md.text(` (first seen ${alert.first_seen})`));
  }
  body.push(md.text(". The earlier card no longer stands; no action is needed for this alert."));
  const blocks: SlackBlock[] = [section(body), context([[md.text("alert "), md.code(alert.id)], [md.text("rule "), md.code(alert.rule.id)]])];
  const text = renderMd([md.text(`[retracted] ${alert.rule.name}${hosts[0] ? ` | host ${hosts[0]}` : ""}`)], SLACK_LIMITS.fallbackText);
  return message(text, blocks);
}

export type RetractionPlan =
  /** Post the follow-up; in bot mode reply in `threadTs` (the card's ts) when known. */
  | { readonly kind: "post"; readonly threadTs: string | null }
  /** No card went out for this alert (digest, routing, never delivered): nothing to correct. */
  | { readonly kind: "skip" }
  /** The card is being posted right now: try again once that delivery is done. */
  | { readonly kind: "wait" };

/**
 * Whether a retraction gets a follow-up, from the open delivery's mark. An alert that was never
 * carded needs none: if its card goes out later, it is rendered from the stored result, which is
 * by then the retracted one.
 */
export function retractionPlan(openMark: DeliveryMark | null): RetractionPlan {
  if (openMark === null) return { kind: "skip" };
  if (openMark.state === "leased") return { kind: "wait" };
  if (openMark.receipt?.mode !== "card") return { kind: "skip" };
  return { kind: "post", threadTs: openMark.receipt.ts ?? null };
}

/** "N more alerts of rule X": one message for the alerts of a storm window that got no card. */
export function buildDigestMessage(d: DigestSummary): SlackMessage {
  const emoji = SEVERITY_EMOJI[d.severity.toLowerCase()] ?? ":white_circle:";
  const window = `${new Date(d.windowStartMs).toISOString()} → ${new Date(d.windowEndMs).toISOString()}`;
  const blocks: SlackBlock[] = [
    header(`${emoji} ${d.count} more alert${d.count === 1 ? "" : "s"}: ${d.ruleName}`),
    section([
      md.markup(`*${d.count}*`), md.text(` more alert${d.count === 1 ? "" : "s"} of `), md.text(d.ruleName),
      md.text(` between ${window}, beyond ${d.limit} card${d.limit === 1 ? "" : "s"} per rule per window. They are stored and in the ticket queue.`),
    ]),
  ];
  if (d.sampleHosts.length > 0) blocks.push(section([md.label("Sample hosts"), md.newline, ...codeList(d.sampleHosts, d.sampleHosts.length)]));
  if (d.sampleAlertIds.length > 0) blocks.push(context([[md.text("sample alerts "), ...codeList(d.sampleAlertIds, d.sampleAlertIds.length)], [md.text("rule "), md.code(d.ruleId)]]));
  const text = renderMd([md.text(`${d.count} more alerts of ${d.ruleName}`)], SLACK_LIMITS.fallbackText);
  return message(text, blocks);
}

// ---------------------------------------------------------------------------------------------
// Block helpers

function message(text: string, blocks: readonly SlackBlock[]): SlackMessage {
  return { text, blocks, unfurl_links: false, unfurl_media: false, link_names: false };
}

function header(raw: string): SlackBlock {
  return { type: "header", text: { type: "plain_text", text: plainText(raw, SLACK_LIMITS.headerText) || "Alert", emoji: true } };
}

function mrkdwn(nodes: readonly Md[], max: number): MrkdwnObject {
  const text = renderMd(nodes, max);
  return { type: "mrkdwn", text: text === "" ? " " : text, verbatim: true };
}

function section(nodes: readonly Md[]): SlackBlock {
  return { type: "section", text: mrkdwn(nodes, SLACK_LIMITS.sectionText) };
}

function fieldsSection(fields: readonly (readonly Md[])[]): SlackBlock {
  return { type: "section", fields: fields.slice(0, SLACK_LIMITS.fieldsPerSection).map((f) => mrkdwn(f, SLACK_LIMITS.fieldText)) };
}

/** A context block, one element per part (at most 10). */
function context(parts: readonly (readonly Md[])[]): SlackBlock {
  return { type: "context", elements: parts.slice(0, SLACK_LIMITS.contextElements).map((p) => mrkdwn(p, SLACK_LIMITS.fieldText)) };
}

function contextLine(nodes: readonly Md[]): SlackBlock {
  return context([nodes]);
}

/**
 * Lines packed into as few sections as possible (each within 3,000 characters; a single longer
 * line is cut). Beyond `maxSections`, a context block counts the lines left out.
 */
function packSections(lines: readonly Line[], maxSections: number, moreWhat: string): SlackBlock[] {
  const groups: { nodes: Md[]; length: number; lines: number }[] = [];
  for (const line of lines) {
    const len = mdLength(line);
    const cur = groups.at(-1);
    if (cur && cur.length + 1 + len <= SLACK_LIMITS.sectionText) {
      cur.nodes.push(md.newline, ...line);
      cur.length += 1 + len;
      cur.lines++;
    } else {
      groups.push({ nodes: [...line], length: len, lines: 1 });
    }
  }
  const kept = groups.slice(0, maxSections);
  const out = kept.map((g) => section(g.nodes));
  if (groups.length > kept.length) {
    const left = lines.length - kept.reduce((n, g) => n + g.lines, 0);
    out.push(contextLine([md.text(`${left} ${moreWhat} not shown`)]));
  }
  return out;
}

/** Keeps a card within 50 blocks: drops from the middle, keeps the head and the closing context. */
function fitBlocks(blocks: SlackBlock[]): SlackBlock[] {
  const max = SLACK_LIMITS.blocksPerMessage;
  if (blocks.length <= max) return blocks;
  return [...blocks.slice(0, max - 1), blocks[blocks.length - 1]!];
}

function codeList(values: readonly string[], max: number): Md[] {
  if (values.length === 0) return [md.text("—")];
  const out = joinMd(values.slice(0, max).map((v) => [md.code(clipRaw(v, 200))]), md.text(", "));
  if (values.length > max) out.push(md.text(` and ${values.length - max} more`));
  return out;
}

function joinMd(parts: readonly (readonly Md[])[], sep: Md): Md[] {
  return parts.flatMap((p, i) => (i === 0 ? [...p] : [sep, ...p]));
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

function clampInt(n: number, min: number, max: number): number {
  return Number.isFinite(n) ? Math.max(min, Math.min(max, Math.trunc(n))) : min;
}
