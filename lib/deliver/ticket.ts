/**
 * The ticket message for a SOC queue: versioned JSON validated by an exported zod schema, one per
 * alert and status, sent straight to SQS by triage. docs/ticket-mapping.md maps it onto TheHive,
 * Jira, ServiceNow and OCSF Detection Finding.
 *
 * Keys:
 * - `dedupKey` (`eql-stream-triage:<alertId>`) is stable per alert, whatever its status: it is
 *   what a ticket system correlates on (TheHive `sourceRef`, a Jira label, ServiceNow
 *   `correlation_id`), so a retraction updates the ticket the open message created. The alert id
 *   is already a deterministic hash of rule, key tuple and member events.
 * - On a FIFO queue `MessageDeduplicationId` is `<dedupKey>:<status>`: the open message and its
 *   retraction are different messages (a retraction within FIFO's 5-minute deduplication window
 *   would otherwise be dropped as a duplicate), while a redelivered open message is deduplicated.
 *   `MessageGroupId` is the alert id: open and retraction of one alert stay in order, different
 *   alerts do not wait for each other.
 * - On a standard queue a retried send can deliver twice; consumers deduplicate on
 *   `dedupKey` + `status` (see the mapping document).
 *
 * Strings here are raw (not escaped for any markup): evidence is what the events said, and each
 * consumer escapes for its own output. The message is kept below SQS's 256 KiB: evidence is cut
 * first (long values, then whole events), and `evidence.truncated` says so.
 */
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { z } from "zod";
import { SEVERITIES, type Severity } from "../rules/model.js";
import type { GuideBlock, Inline, ResolvedQuery, TriageResult } from "../triage/result.js";
import { distinct, get, hostOf, queryRefLabel, str } from "./event-fields.js";

export const TICKET_SCHEMA = "eql-stream-triage/ticket" as const;
export const TICKET_VERSION = 1 as const;

/** SQS's message limit is 256 KiB including attributes; leave room for them. */
export const MAX_TICKET_BYTES = 250 * 1024;

const VERDICTS = ["malicious", "suspicious", "benign", "unknown", "internal"] as const;

const EvidenceSchema = z.object({
  provider: z.string(),
  status: z.enum(["listed", "not_listed", "found", "not_found", "error", "cooldown", "skipped"]),
  verdict: z.enum(VERDICTS),
  score: z.number().nullable(),
  detail: z.string().nullable(),
  reason: z.string().nullable(),
}).strict();

const ObservableSchema = z.object({
  type: z.enum(["ip", "host", "user", "process", "command_line", "hash", "parent_child"]),
  value: z.string(),
  /** The ECS field it came from. */
  field: z.string(),
  /** Indexes into `evidence.events` (before any were cut). */
  events: z.array(z.number().int().nonnegative()),
  role: z.enum(["remote", "source", "destination"]).optional(),
  internal: z.boolean().optional(),
  algorithm: z.string().optional(),
  /** The value was cut to fit. */
  truncated: z.boolean().optional(),
  /** IP reputation, for `ip` observables that were looked up. */
  reputation: z.object({ verdict: z.enum(VERDICTS), score: z.number(), evidence: z.array(EvidenceSchema) }).strict().optional(),
}).strict();

export const TicketMessageSchema = z.object({
  schema: z.literal(TICKET_SCHEMA),
  version: z.literal(TICKET_VERSION),
  /** Stable per alert; the correlation key for ticket systems. */
  dedupKey: z.string().regex(/^[A-Za-z0-9:_-]{1,100}$/),
  alertId: z.string().min(1),
  status: z.enum(["open", "retracted"]),
  title: z.string().min(1).max(255),
  summary: z.string(),
  severity: z.enum(SEVERITIES),
  riskScore: z.number().min(0).max(100),
  verdict: z.object({ verdict: z.enum(VERDICTS), score: z.number(), reasons: z.array(z.string()) }).strict(),
  time: z.object({
    detectedAt: z.string(),
    firstSeen: z.string(),
    lastSeen: z.string(),
    triagedAt: z.string(),
  }).strict(),
  rule: z.object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    references: z.array(z.string()),
    buildingBlock: z.boolean(),
  }).strict(),
  entities: z.object({
    hosts: z.array(z.object({ name: z.string(), id: z.string().nullable(), ips: z.array(z.string()) }).strict()),
    users: z.array(z.object({ name: z.string(), domain: z.string().nullable(), id: z.string().nullable() }).strict()),
  }).strict(),
  observables: z.array(ObservableSchema),
  /** MITRE ATT&CK, as the rule maps it. */
  attack: z.array(z.object({
    tacticId: z.string(),
    tactic: z.string(),
    techniqueId: z.string().nullable(),
    technique: z.string().nullable(),
  }).strict()),
  evidence: z.object({
    /** The matched events in stage order, raw (projections; `{missing: true}` for a missing-event stage). */
    events: z.array(z.record(z.string(), z.unknown())),
    /** Events or values were cut to keep the message within SQS's limit. */
    truncated: z.boolean(),
    omittedEvents: z.number().int().nonnegative(),
    /** The detector's caveats (cut fields, partition overflow). */
    flags: z.array(z.string()),
    suppressedCount: z.number().int().nonnegative(),
  }).strict(),
  triage: z.object({
    /** The rule's guide, one entry per section, as Markdown. */
    steps: z.array(z.object({
      section: z.enum(["summary", "investigation", "false_positives", "response", "other"]),
      title: z.string(),
      markdown: z.string(),
    }).strict()),
    queries: z.array(z.object({
      placeholder: z.string(),
      language: z.enum(["kql", "osquery"]),
      label: z.string(),
      description: z.string().nullable(),
      query: z.string(),
      unresolved: z.array(z.string()),
    }).strict()),
  }).strict(),
  /** Precomputed OCSF Detection Finding ids (class 2004), for consumers that emit OCSF. */
  ocsf: z.object({
    class_uid: z.literal(2004),
    category_uid: z.literal(2),
    activity_id: z.union([z.literal(1), z.literal(3)]),
    type_uid: z.union([z.literal(200401), z.literal(200403)]),
    severity_id: z.number().int().min(0).max(6),
    status_id: z.union([z.literal(1), z.literal(4)]),
  }).strict(),
}).strict();

export type TicketMessage = z.infer<typeof TicketMessageSchema>;

const DEDUP_PREFIX = "eql-stream-triage:";

/** The stable correlation key of an alert's ticket (hashed if the id is not a plain token). */
export function dedupKey(alertId: string): string {
  const safe = /^[A-Za-z0-9_-]{1,64}$/.test(alertId) ? alertId : createHash("sha256").update(alertId).digest("hex").slice(0, 32);
  return DEDUP_PREFIX + safe;
}

/** FIFO `MessageDeduplicationId`: one per alert and status, so a retraction is never dropped. */
export function ticketDeduplicationId(message: Pick<TicketMessage, "dedupKey" | "status">): string {
  return `${message.dedupKey}:${message.status}`;
}

const OCSF_SEVERITY: Record<Severity, number> = { low: 2, medium: 3, high: 4, critical: 5 };
/** Observable values longer than this are cut (a command line is already cut by the detector). */
const MAX_OBSERVABLE_CHARS = 4096;
const MAX_SUMMARY_CHARS = 4096;

/** The ticket message for a triage result, within MAX_TICKET_BYTES. */
export function buildTicketMessage(result: TriageResult): TicketMessage {
  const { alert } = result;
  const severity = toSeverity(alert.rule.severity);
  const open = result.status === "open";
  const hosts = hostsOf(alert.events);
  const users = usersOf(alert.events);
  const host = distinct(alert.events.map(hostOf))[0];
  const message: TicketMessage = {
    schema: TICKET_SCHEMA,
    version: TICKET_VERSION,
    dedupKey: dedupKey(alert.id),
    alertId: alert.id,
    status: result.status,
    title: cut(`${open ? "" : "[retracted] "}${alert.rule.name}${host ? ` on ${host}` : ""}`, 255),
    summary: cut(result.summary, MAX_SUMMARY_CHARS),
    severity,
    riskScore: alert.rule.risk_score,
    verdict: { verdict: result.verdict.verdict, score: result.verdict.score, reasons: [...result.verdict.reasons] },
    time: { detectedAt: alert["@timestamp"], firstSeen: alert.first_seen, lastSeen: alert.last_seen, triagedAt: result.triagedAt },
    rule: {
      id: alert.rule.id,
      name: alert.rule.name,
      description: result.rule.description,
      tags: [...result.rule.tags],
      references: [...result.rule.references],
      buildingBlock: alert.rule.building_block,
    },
    entities: { hosts, users },
    observables: result.observables.map((o) => {
      const rep = o.type === "ip" ? result.reputation.find((r) => r.ip === o.value) : undefined;
      const value = cut(o.value, MAX_OBSERVABLE_CHARS);
      return {
        type: o.type,
        value,
        field: o.field,
        events: [...o.events],
        ...(o.role !== undefined ? { role: o.role } : {}),
        ...(o.internal !== undefined ? { internal: o.internal } : {}),
        ...(o.algorithm !== undefined ? { algorithm: o.algorithm } : {}),
        ...(value !== o.value ? { truncated: true } : {}),
        ...(rep ? {
          reputation: {
            verdict: rep.verdict,
            score: rep.score,
            evidence: rep.evidence.map((e) => ({ provider: e.provider, status: e.status, verdict: e.verdict, score: e.score, detail: e.detail, reason: e.reason })),
          },
        } : {}),
      };
    }),
    attack: alert.rule.threat.map((t) => ({ tacticId: t.tactic_id, tactic: t.tactic, techniqueId: t.technique ?? null, technique: t.technique_name ?? null })),
    evidence: {
      events: alert.events.map((e) => ({ ...e })),
      truncated: false,
      omittedEvents: 0,
      flags: [...(alert.flags ?? [])],
      suppressedCount: alert.suppressed_count,
    },
    triage: {
      steps: (result.guide?.sections ?? []).map((s) => ({ section: s.kind, title: s.title, markdown: guideToMarkdown(s.blocks, result.queries) })),
      queries: result.queries.map((q) => ({ ...q, unresolved: [...q.unresolved] })),
    },
    ocsf: {
      class_uid: 2004,
      category_uid: 2,
      activity_id: open ? 1 : 3,
      type_uid: open ? 200401 : 200403,
      severity_id: OCSF_SEVERITY[severity],
      status_id: open ? 1 : 4,
    },
  };
  return fitTicket(message);
}

function toSeverity(s: string): Severity {
  const lower = s.toLowerCase();
  // Rules are validated to these four; anything else would be a bug upstream, shown as low.
  return (SEVERITIES as readonly string[]).includes(lower) ? (lower as Severity) : "low";
}

function hostsOf(events: readonly Record<string, unknown>[]): TicketMessage["entities"]["hosts"] {
  const byName = new Map<string, { name: string; id: string | null; ips: Set<string> }>();
  for (const e of events) {
    const name = hostOf(e);
    if (!name) continue;
    const h = byName.get(name) ?? { name, id: str(get(e, "host.id")), ips: new Set<string>() };
    const ips = get(e, "host.ip");
    for (const ip of Array.isArray(ips) ? ips : [ips]) if (typeof ip === "string" && ip !== "") h.ips.add(ip);
    byName.set(name, h);
  }
  return [...byName.values()].map((h) => ({ name: cut(h.name, 1024), id: h.id, ips: [...h.ips].slice(0, 32) }));
}

function usersOf(events: readonly Record<string, unknown>[]): TicketMessage["entities"]["users"] {
  const seen = new Map<string, TicketMessage["entities"]["users"][number]>();
  for (const e of events) {
    const name = str(get(e, "user.name"));
    if (!name) continue;
    const domain = str(get(e, "user.domain"));
    const k = `${domain ?? ""}\\${name}`;
    if (!seen.has(k)) seen.set(k, { name: cut(name, 1024), domain: domain === null ? null : cut(domain, 1024), id: str(get(e, "user.id")) });
  }
  return [...seen.values()];
}

/**
 * Keeps the message within MAX_TICKET_BYTES, cutting evidence first: string values inside events
 * to 1,024 characters, then whole events from the end, then the guide text. Never throws.
 */
export function fitTicket(message: TicketMessage): TicketMessage {
  if (bytes(message) <= MAX_TICKET_BYTES) return message;
  let m: TicketMessage = {
    ...message,
    evidence: { ...message.evidence, truncated: true, events: message.evidence.events.map((e) => clipDeep(e, 1024) as Record<string, unknown>) },
  };
  while (bytes(m) > MAX_TICKET_BYTES && m.evidence.events.length > 0) {
    const events = m.evidence.events.slice(0, -1);
    m = { ...m, evidence: { ...m.evidence, events, omittedEvents: m.evidence.omittedEvents + 1 } };
  }
  if (bytes(m) > MAX_TICKET_BYTES) {
    m = {
      ...m,
      triage: {
        steps: m.triage.steps.map((s) => ({ ...s, markdown: cut(s.markdown, 2048) })),
        queries: m.triage.queries.map((q) => ({ ...q, query: cut(q.query, 2048), description: q.description === null ? null : cut(q.description, 512) })),
      },
      verdict: { ...m.verdict, reasons: m.verdict.reasons.slice(0, 20).map((r) => cut(r, 512)) },
      observables: m.observables.slice(0, 50).map((o) => (o.value.length > 512 ? { ...o, value: cut(o.value, 512), truncated: true } : o)),
    };
  }
  if (bytes(m) > MAX_TICKET_BYTES) {
    // Only pathological rule text gets here (a guide of megabytes): keep the alert, drop the guide.
    m = { ...m, triage: { steps: [], queries: [] }, rule: { ...m.rule, description: m.rule.description === null ? null : cut(m.rule.description, 2048), tags: m.rule.tags.slice(0, 50), references: m.rule.references.slice(0, 20) } };
  }
  return m;
}

function bytes(m: TicketMessage): number {
  return Buffer.byteLength(serializeTicket(m), "utf8");
}

/**
 * The message body. JSON.stringify escapes control characters and lone surrogates but not
 * U+FFFE/U+FFFF, which SQS refuses in a body (InvalidMessageContents); outside strings JSON has no
 * such characters, so escaping them in the text is exact.
 */
export function serializeTicket(message: TicketMessage): string {
  return JSON.stringify(message).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

function clipDeep(v: unknown, max: number): unknown {
  if (typeof v === "string") return cut(v, max);
  if (Array.isArray(v)) return v.slice(0, 64).map((x) => clipDeep(x, max));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = clipDeep(x, max);
    return out;
  }
  return v;
}

/** Cuts to `max` UTF-16 units without splitting a surrogate pair, marking the cut with an ellipsis. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end) + "…";
}

// ---------------------------------------------------------------------------------------------
// The guide as Markdown (raw rule text; the consumer renders or escapes it)

export function guideToMarkdown(blocks: readonly GuideBlock[], queries: readonly ResolvedQuery[], depth = 0): string {
  const indent = "  ".repeat(depth);
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case "paragraph":
        out.push(indent + inlineToMarkdown(b.inline, queries));
        break;
      case "code": {
        const fence = "`".repeat(Math.max(3, longestRun(b.value, "`") + 1));
        out.push(`${indent}${fence}${b.lang ?? ""}\n${b.value.split("\n").map((l) => indent + l).join("\n")}\n${indent}${fence}`);
        break;
      }
      case "list":
        b.items.forEach((item, i) => {
          const marker = b.ordered ? `${i + 1}.` : "-";
          const lines = [`${indent}${marker} ${inlineToMarkdown(item.inline, queries)}`];
          if (item.children.length > 0) lines.push(guideToMarkdown(item.children, queries, depth + 1));
          out.push(lines.join("\n"));
        });
        break;
      default:
        return assertNever(b);
    }
  }
  return out.join("\n");
}

export function inlineToMarkdown(nodes: readonly Inline[], queries: readonly ResolvedQuery[]): string {
  return nodes.map((n) => {
    switch (n.type) {
      case "text":
        return n.value;
      case "code": {
        const fence = "`".repeat(longestRun(n.value, "`") + 1);
        const pad = n.value.startsWith("`") || n.value.endsWith("`") ? " " : "";
        return `${fence}${pad}${n.value}${pad}${fence}`;
      }
      case "strong":
        return `**${inlineToMarkdown(n.children, queries)}**`;
      case "emphasis":
        return `_${inlineToMarkdown(n.children, queries)}_`;
      case "link":
        return `[${inlineToMarkdown(n.children, queries)}](${n.url})`;
      case "query":
        return queryRefLabel(n.ref, queries);
      default:
        return assertNever(n);
    }
  }).join("");
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface SentTicket {
  readonly messageId: string;
  /** FIFO only. */
  readonly sequenceNumber: string | null;
  /** FIFO only: the `MessageDeduplicationId` used. */
  readonly deduplicationId: string | null;
}

export function isFifoQueue(queueUrl: string): boolean {
  return queueUrl.endsWith(".fifo");
}

/**
 * Sends a ticket message to a standard or FIFO queue (told apart by the `.fifo` suffix). SQS
 * errors are thrown as they come from the SDK (with its retries already spent): the caller's
 * batch fails and is retried.
 */
export async function sendTicket(sqs: SQSClient, queueUrl: string, message: TicketMessage): Promise<SentTicket> {
  const fifo = isFifoQueue(queueUrl);
  const deduplicationId = fifo ? ticketDeduplicationId(message) : null;
  const out = await sqs.send(new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: serializeTicket(message),
    MessageAttributes: ticketAttributes(message),
    ...(fifo ? { MessageGroupId: message.alertId.slice(0, 128), MessageDeduplicationId: deduplicationId! } : {}),
  }));
  return { messageId: out.MessageId ?? "", sequenceNumber: out.SequenceNumber ?? null, deduplicationId };
}

/** Attributes a consumer can filter on without parsing the body (SQS allows 10). */
export function ticketAttributes(message: TicketMessage): Record<string, MessageAttributeValue> {
  const s = (v: string): MessageAttributeValue => ({ DataType: "String", StringValue: v });
  return {
    schema: s(`${TICKET_SCHEMA}@${TICKET_VERSION}`),
    dedupKey: s(message.dedupKey),
    status: s(message.status),
    severity: s(message.severity),
    riskScore: { DataType: "Number", StringValue: String(message.riskScore) },
    verdict: s(message.verdict.verdict),
    ruleId: s(message.rule.id),
  };
}
