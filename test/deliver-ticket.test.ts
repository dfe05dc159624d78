/**
 * The ticket message: schema, dedup key, raw evidence, size limit; and sending it to standard and
 * FIFO queues of a local SQS (local-aws-sqs, the JSON protocol), received back with its attributes.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTicketMessage, dedupKey, MAX_TICKET_BYTES, sendTicket, serializeTicket, ticketDeduplicationId, TicketMessageSchema, type TicketMessage,
} from "../lib/deliver/ticket.js";
import { seedTriageResult, SEED_ALERT, setField, withEvents } from "./helpers/triage-fixture.js";

describe("ticket message", () => {
  it("validates against its own schema, open and retracted", () => {
    const open = buildTicketMessage(seedTriageResult());
    expect(TicketMessageSchema.parse(open)).toEqual(open);
    const retracted = buildTicketMessage(seedTriageResult({ status: "retracted" }));
    expect(TicketMessageSchema.parse(retracted)).toEqual(retracted);
    expect(open).toMatchObject({
      schema: "eql-stream-triage/ticket",
      version: 1,
      alertId: "0af20d25e578a6c91a50fd204496dd69",
      status: "open",
      title: "Potential Remote File Execution via MSIEXEC on WIN-FIN-07",
      severity: "low",
      riskScore: 21,
      verdict: { verdict: "malicious", score: 90 },
      time: { detectedAt: "2026-11-20T09:13:26.400Z", firstSeen: "2026-11-20T09:12:00.000Z", lastSeen: "2026-11-20T09:12:06.500Z", triagedAt: "2026-11-20T09:13:27.000Z" },
      entities: {
        hosts: [{ name: "WIN-FIN-07", id: "5b7e29f1-43a2-4b1e-9c55-0d6a1c2f7e31", ips: ["10.20.30.40"] }],
        users: [{ name: "jdoe", domain: "CORP", id: "S-1-5-21-1004336348-1177238915-682003330-1105" }],
      },
      ocsf: { class_uid: 2004, category_uid: 2, activity_id: 1, type_uid: 200401, severity_id: 2, status_id: 1 },
    });
    expect(retracted).toMatchObject({ status: "retracted", title: "[retracted] Potential Remote File Execution via MSIEXEC on WIN-FIN-07", ocsf: { activity_id: 3, type_uid: 200403, status_id: 4 } });
  });

  it("rejects messages of another schema, version or shape", () => {
    const m = buildTicketMessage(seedTriageResult());
    expect(TicketMessageSchema.safeParse({ ...m, version: 2 }).success).toBe(false);
    expect(TicketMessageSchema.safeParse({ ...m, schema: "other" }).success).toBe(false);
    expect(TicketMessageSchema.safeParse({ ...m, extra: 1 }).success).toBe(false);
    expect(TicketMessageSchema.safeParse({ ...m, dedupKey: "has space" }).success).toBe(false);
  });

  it("keeps one dedup key per alert across statuses and rebuilds; FIFO dedup ids differ by status", () => {
    const open = buildTicketMessage(seedTriageResult());
    const again = buildTicketMessage(seedTriageResult({ triagedAt: "2026-11-20T10:00:00.000Z" }));
    const retracted = buildTicketMessage(seedTriageResult({ status: "retracted" }));
    expect(open.dedupKey).toBe("eql-stream-triage:0af20d25e578a6c91a50fd204496dd69");
    expect(again.dedupKey).toBe(open.dedupKey);
    expect(retracted.dedupKey).toBe(open.dedupKey);
    expect(ticketDeduplicationId(open)).toBe("eql-stream-triage:0af20d25e578a6c91a50fd204496dd69:open");
    expect(ticketDeduplicationId(retracted)).toBe("eql-stream-triage:0af20d25e578a6c91a50fd204496dd69:retracted");
    expect(dedupKey("other")).not.toBe(open.dedupKey);
    // An id that is not a plain token is hashed into one, stably.
    expect(dedupKey("a b/ü")).toMatch(/^eql-stream-triage:[0-9a-f]{32}$/);
    expect(dedupKey("a b/ü")).toBe(dedupKey("a b/ü"));
  });

  it("carries evidence raw, observables with their enrichment, the ATT&CK mapping and the guide", () => {
    const hostile = "msiexec.exe /i <!channel> & <https://evil.example|click> `x`";
    const m = buildTicketMessage(withEvents(seedTriageResult(), (e) => setField(e, "process.command_line", hostile)));
    expect((m.evidence.events[0] as { process: { command_line: string } }).process.command_line).toBe(hostile);
    expect(m.evidence).toMatchObject({ truncated: false, omittedEvents: 0, flags: [], suppressedCount: 0 });
    expect(m.evidence.events).toHaveLength(3);
    expect(m.observables.find((o) => o.value === "185.220.101.45")).toEqual({
      type: "ip", value: "185.220.101.45", field: "destination.ip", events: [1], role: "remote", internal: false,
      reputation: {
        verdict: "malicious", score: 90,
        evidence: [
          { provider: "tor-exits", status: "listed", verdict: "suspicious", score: 60, detail: "listed in tor-exits", reason: null },
          { provider: "abuseipdb", status: "found", verdict: "malicious", score: 90, detail: "abuse confidence 90%", reason: null },
          { provider: "greynoise", status: "error", verdict: "unknown", score: null, detail: null, reason: "timeout" },
        ],
      },
    });
    expect(m.attack).toEqual([
      { tacticId: "TA0001", tactic: "Initial Access", techniqueId: "T1566.002", technique: "Phishing: Spearphishing Link" },
      { tacticId: "TA0005", tactic: "Defense Evasion", techniqueId: "T1218.007", technique: "System Binary Proxy Execution: Msiexec" },
      { tacticId: "TA0011", tactic: "Command and Control", techniqueId: "T1105", technique: "Ingress Tool Transfer" },
    ]);
    const steps = m.triage.steps.find((s) => s.section === "investigation")!;
    expect(steps.title).toBe("Possible investigation steps");
    expect(steps.markdown).toContain("- Review the process start event for msiexec.exe to identify the command-line arguments used, focusing on the presence of the `/V` flag");
    expect(steps.markdown).toContain("\n  - Query the process tree: query #1 (Child processes of msiexec)");
    expect(steps.markdown).toContain("**especially**");
    expect(steps.markdown).toContain("[T1566](https://attack.mitre.org/techniques/T1566/)");
    expect(m.triage.steps.find((s) => s.section === "response")!.markdown).toContain("```powershell\nStop-Process -Name msiexec -Force\n```");
    expect(m.triage.queries[0]).toMatchObject({ placeholder: "$investigate_0", language: "kql" });
  });

  it("stays under SQS's limit: long values cut first, then whole events, and says so", () => {
    const events = Array.from({ length: 100 }, (_, i) => {
      const e = structuredClone(SEED_ALERT.events[i % 3]!) as Record<string, unknown>;
      setField(e, "process.command_line", `${i} ${"x".repeat(30_000)}`);
      return e;
    });
    const m = buildTicketMessage(seedTriageResult({ alert: { ...SEED_ALERT, events } }));
    expect(Buffer.byteLength(serializeTicket(m))).toBeLessThanOrEqual(MAX_TICKET_BYTES);
    expect(TicketMessageSchema.safeParse(m).success).toBe(true);
    expect(m.evidence.truncated).toBe(true);
    expect(m.evidence.events.length + m.evidence.omittedEvents).toBe(100);
    expect(m.evidence.events.length).toBeGreaterThan(50); // cutting values keeps most events
    expect((m.evidence.events[0] as { process: { command_line: string } }).process.command_line).toHaveLength(1024);

    const huge = buildTicketMessage(withEvents(seedTriageResult(), (e) => setField(e, "process.command_line", "y".repeat(3_000_000))));
    expect(Buffer.byteLength(serializeTicket(huge))).toBeLessThanOrEqual(MAX_TICKET_BYTES);
    expect(huge.evidence.events).toHaveLength(3);
  });

  it("escapes the characters SQS refuses in a body, losslessly", () => {
    const m = buildTicketMessage(withEvents(seedTriageResult(), (e) => setField(e, "process.command_line", "a\uFFFFb\uFFFEc\u0000d\ud800")));
    const body = serializeTicket(m);
    expect(body).not.toMatch(/[\uFFFE\uFFFF\u0000]/);
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect((JSON.parse(body) as TicketMessage).evidence.events[0]).toMatchObject({ process: { command_line: "a\uFFFFb\uFFFEc\u0000d\ud800" } });
  });
});

describe("sending tickets to SQS (local-aws-sqs)", () => {
  let server: Server;
  let sqs: SQSClient;
  let standardUrl: string;
  let fifoUrl: string;

  beforeAll(async () => {
    server = await createSqsServer({ port: 0, hostname: "127.0.0.1" });
    const { port } = server.address() as AddressInfo;
    sqs = new SQSClient({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
    standardUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "tickets" }))).QueueUrl!;
    fifoUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "tickets.fifo", Attributes: { FifoQueue: "true" } }))).QueueUrl!;
  });

  afterAll(async () => {
    sqs?.destroy();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  async function receiveAll(url: string): Promise<Message[]> {
    const out: Message[] = [];
    for (;;) {
      const r = await sqs.send(new ReceiveMessageCommand({
        QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ["All"], AttributeNames: ["All"], VisibilityTimeout: 60,
      }));
      if (!r.Messages || r.Messages.length === 0) return out;
      out.push(...r.Messages);
    }
  }

  it("sends to a standard queue with the filtering attributes", async () => {
    const m = buildTicketMessage(seedTriageResult());
    const sent = await sendTicket(sqs, standardUrl, m);
    expect(sent.messageId).not.toBe("");
    expect(sent).toMatchObject({ sequenceNumber: null, deduplicationId: null });
    const [received, ...rest] = await receiveAll(standardUrl);
    expect(rest).toEqual([]);
    expect(TicketMessageSchema.parse(JSON.parse(received!.Body!))).toEqual(m);
    const attrs = Object.fromEntries(Object.entries(received!.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));
    expect(attrs).toEqual({
      schema: "eql-stream-triage/ticket@1", dedupKey: m.dedupKey, status: "open", severity: "low", riskScore: "21", verdict: "malicious",
      ruleId: "3e441bdb-596c-44fd-8628-2cfdf4516ada",
    });
    expect(received!.MessageAttributes!.riskScore!.DataType).toBe("Number");
  });

  it("on a FIFO queue drops a repeated open message but not the retraction, in one group per alert", async () => {
    const open = buildTicketMessage(seedTriageResult());
    const retracted = buildTicketMessage(seedTriageResult({ status: "retracted" }));
    const first = await sendTicket(sqs, fifoUrl, open);
    const repeat = await sendTicket(sqs, fifoUrl, buildTicketMessage(seedTriageResult({ triagedAt: "2026-11-20T10:00:00.000Z" })));
    const third = await sendTicket(sqs, fifoUrl, retracted);
    expect(first.deduplicationId).toBe(`${open.dedupKey}:open`);
    expect(third.deduplicationId).toBe(`${open.dedupKey}:retracted`);
    expect(repeat.messageId).toBe(first.messageId); // deduplicated: SQS answers with the first message
    expect(first.sequenceNumber).not.toBeNull();

    const received = await receiveAll(fifoUrl);
    expect(received.map((r) => (JSON.parse(r.Body!) as TicketMessage).status)).toEqual(["open", "retracted"]);
    expect(received.map((r) => r.Attributes?.MessageDeduplicationId)).toEqual([`${open.dedupKey}:open`, `${open.dedupKey}:retracted`]);
    expect(received.map((r) => r.Attributes?.MessageGroupId)).toEqual([open.alertId, open.alertId]);
    expect(received.map((r) => (JSON.parse(r.Body!) as TicketMessage).dedupKey)).toEqual([open.dedupKey, open.dedupKey]);
  });

  it("sends the largest message the builder makes", async () => {
    const events = Array.from({ length: 100 }, (_, i) => {
      const e = structuredClone(SEED_ALERT.events[i % 3]!) as Record<string, unknown>;
      setField(e, "process.command_line", "z".repeat(30_000));
      return e;
    });
    const m = buildTicketMessage(seedTriageResult({ alertId: "big", alert: { ...SEED_ALERT, id: "big", events } }));
    await sendTicket(sqs, standardUrl, m);
    const [received] = await receiveAll(standardUrl);
    expect((JSON.parse(received!.Body!) as TicketMessage).alertId).toBe("big");
  });
});
