/**
 * The triage and deliver-slack Lambdas end to end: alerts written by the real detector to a table
 * on DynamoDB Local, the table's stream read back with NEW_AND_OLD_IMAGES records and handed to the
 * triage handler as Lambda delivers them, ticket and Slack queues on local-aws-sqs, a Slack
 * webhook on 127.0.0.1, secrets from a GetSecretValue server. Configuration only through the
 * environment, as the stack sets it.
 */
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from "@aws-sdk/client-dynamodb-streams";
import { ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from "aws-lambda";
import { createHash, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TicketMessageSchema } from "../lib/deliver/ticket.js";
import { detectBatch } from "../lib/detect/engine.js";
import { loadDetectionRules } from "../lib/detect/load-rules.js";
import { alertKey } from "../lib/detect/keys.js";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { getTriageResult } from "../lib/store/triage-results.js";
import { accepted } from "./helpers/detect-harness.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";
import { startSecretsServer, type SecretsServer } from "./helpers/secrets-server.js";
import { seedAttack } from "./helpers/seed-attack.js";
import { startSqs, type TestSqs } from "./helpers/sqs-server.js";

const TABLE = "triage-state";
let dynamo: TestDynamo;
let sqs: TestSqs;
let secrets: SecretsServer;
let slack: Server;
let slackPosts: { body: Record<string, unknown> }[] = [];
let slackReply: () => { status: number; headers?: Record<string, string>; body: string } = () => ({ status: 200, body: "ok" });
let store: DynamoDbItemStore;
let ticketUrl: string;
let slackUrl: string;
let listsDir: string;
let streams: DynamoDBStreamsClient;
let iterator: string | undefined;
type Handler<E, R> = (event: E, context: Context) => Promise<R>;
let triage: Handler<DynamoDBStreamEvent, { batchItemFailures: { itemIdentifier: string }[] }>;
let deliver: Handler<SQSEvent, { batchItemFailures: { itemIdentifier: string }[] }>;
let sweep: Handler<unknown, { alerts: number; failures: number }>;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqs()]);
  const client = testDynamoClient(dynamo.endpoint);
  await createStateTable(client, TABLE);
  store = new DynamoDbItemStore({ client, tableName: TABLE });
  ticketUrl = await sqs.createQueue("tickets");
  slackUrl = await sqs.createQueue("slack-jobs");
  slack = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const reply = slackReply();
      if (reply.status === 200) slackPosts.push({ body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(reply.status, { "content-type": "text/plain", ...(reply.headers ?? {}) });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => slack.listen(0, "127.0.0.1", () => r()));
  const webhookUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  secrets = await startSecretsServer({ "triage/slack": JSON.stringify({ webhookUrl }) });
  listsDir = mkdtempSync(path.join(tmpdir(), "lists-"));
  // The seed attack connects to 198.51.100.7 (documentation range: internal, never looked up) in
  // the helper; the demo capture's attacker address is public. Both kinds are covered below.
  writeFileSync(path.join(listsDir, "tor-exits.txt"), "# sample\n185.220.101.45\n");

  const table = await client.send(new DescribeTableCommand({ TableName: TABLE }));
  streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const described = await streams.send(new DescribeStreamCommand({ StreamArn: table.Table!.LatestStreamArn! }));
  const shard = described.StreamDescription!.Shards![0]!;
  iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: table.Table!.LatestStreamArn!, ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;

  const env: Record<string, string> = {
    AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SQS: sqs.endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    STATE_TABLE: TABLE, TICKET_QUEUE_URL: ticketUrl, SLACK_QUEUE_URL: slackUrl, SLACK_SECRET_ID: "triage/slack",
    REPUTATION_LISTS: `tor-exits:suspicious=${path.join(listsDir, "tor-exits.txt")}`,
    POWERTOOLS_LOG_LEVEL: "ERROR", POWERTOOLS_METRICS_DISABLED: "true",
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  triage = (await import("../functions/triage.js")).handler as unknown as typeof triage;
  deliver = (await import("../functions/deliver-slack.js")).handler as unknown as typeof deliver;
  sweep = (await import("../functions/sweep.js")).handler as unknown as typeof sweep;
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  streams?.destroy();
  await new Promise<void>((r) => (slack ? slack.close(() => r()) : r()));
  await secrets?.stop();
  await sqs?.stop();
  await dynamo?.stop();
  if (listsDir) rmSync(listsDir, { recursive: true, force: true });
});

function context(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true, functionName: name, functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`, memoryLimitInMB: "512",
    awsRequestId: randomUUID(), logGroupName: `/aws/lambda/${name}`, logStreamName: "s",
    getRemainingTimeInMillis: () => 60_000, done: () => {}, fail: () => {}, succeed: () => {},
  };
}

/** New stream records since the last call, shaped as Lambda delivers them. */
async function streamRecords(): Promise<DynamoDBRecord[]> {
  const out: DynamoDBRecord[] = [];
  for (let i = 0; i < 20 && iterator; i++) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
    iterator = page.NextShardIterator;
    out.push(...(page.Records ?? []).map(toLambda));
    if ((page.Records ?? []).length === 0) break;
  }
  return out;
}

function toLambda(r: _Record): DynamoDBRecord {
  const d = r.dynamodb!;
  return {
    eventID: r.eventID!, eventName: r.eventName as DynamoDBRecord["eventName"], eventVersion: "1.1", eventSource: "aws:dynamodb", awsRegion: "us-east-1",
    eventSourceARN: `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}/stream/x`,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor((d.ApproximateCreationDateTime?.getTime() ?? Date.now()) / 1000),
      Keys: d.Keys as Record<string, never>, SequenceNumber: d.SequenceNumber!, SizeBytes: d.SizeBytes!, StreamViewType: d.StreamViewType as "NEW_AND_OLD_IMAGES",
      ...(d.NewImage ? { NewImage: d.NewImage as Record<string, never> } : {}), ...(d.OldImage ? { OldImage: d.OldImage as Record<string, never> } : {}),
    },
  };
}

async function receive(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30, MessageAttributeNames: ["All"], AttributeNames: ["All"] }));
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

function sqsEvent(messages: readonly Message[]): SQSEvent {
  const now = String(Date.now());
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, messageAttributes: {},
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: now, SenderId: "x", ApproximateFirstReceiveTimestamp: now },
      md5OfBody: createHash("md5").update(m.Body!).digest("hex"), eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:slack-jobs", awsRegion: "us-east-1",
    })),
  };
}

async function raiseAlert(prefix: string, remote = "185.220.101.45"): Promise<string> {
  const rules = (await loadDetectionRules([path.join(import.meta.dirname, "../rules")])).rules;
  const events = seedAttack({ idPrefix: prefix, start: new Date(Date.now() - 60_000).toISOString() });
  const net = events[1] as { destination: { ip: string } };
  net.destination.ip = remote;
  const out = await detectBatch({ store, rules }, events.map((e) => accepted(e, `m-${prefix}`)), Date.now());
  expect(out.alerts).toHaveLength(1);
  return out.alerts[0]!.id;
}

const ids = (records: readonly DynamoDBRecord[]) => records.map((r) => `${r.eventName}:${(r.dynamodb?.Keys as { sk?: { S?: string } } | undefined)?.sk?.S}`);

describe("triage and deliver-slack handlers", () => {
  it("triages an alert insert from the stream, ignores everything else, and delivers one card however often it is redelivered", async () => {
    const alertId = await raiseAlert("t1");
    // A counter MODIFY on the alert (a suppressed duplicate) must not re-trigger triage.
    await store.update(alertKey(alertId), { add: { suppressed_count: 1 } });
    const records = await streamRecords();
    expect(ids(records)).toContain("INSERT:alert");
    expect(ids(records)).toContain("MODIFY:alert");
    expect(await triage({ Records: records }, context("triage"))).toEqual({ batchItemFailures: [] });

    const result = await getTriageResult(store, alertId, Math.floor(Date.now() / 1000));
    expect(result?.status).toBe("open");
    expect(result?.reputation.find((r) => r.ip === "185.220.101.45")?.verdict).toBe("suspicious");
    expect(result?.guide?.sections.some((s) => s.kind === "investigation")).toBe(true);

    const tickets = await receive(ticketUrl);
    expect(tickets).toHaveLength(1);
    const ticket = TicketMessageSchema.parse(JSON.parse(tickets[0]!.Body!));
    expect(ticket.status).toBe("open");
    const jobs = await receive(slackUrl);
    expect(jobs.map((j) => JSON.parse(j.Body!))).toEqual([{ type: "alert", alertId, phase: "open" }]);

    // The triage-result write and the alert's cleared pendingTriage come back on the stream: ignored.
    const after = await streamRecords();
    expect(ids(after)).toContain("INSERT:triage");
    expect(await triage({ Records: after }, context("triage"))).toEqual({ batchItemFailures: [] });
    expect(await receive(slackUrl)).toHaveLength(0);

    slackPosts = [];
    expect(await deliver(sqsEvent(jobs), context("deliver-slack"))).toEqual({ batchItemFailures: [] });
    expect(slackPosts).toHaveLength(1);
    const card = JSON.stringify(slackPosts[0]!.body);
    expect(card).toContain("Potential Remote File Execution via MSIEXEC");
    expect(card).toContain("185.220.101.45");

    // A redelivered stream batch: triage again, a Slack job again, and no second card.
    expect(await triage({ Records: records }, context("triage"))).toEqual({ batchItemFailures: [] });
    const again = await receive(slackUrl);
    expect(again).toHaveLength(1);
    expect(await deliver(sqsEvent(again), context("deliver-slack"))).toEqual({ batchItemFailures: [] });
    expect(slackPosts).toHaveLength(1);
    await receive(ticketUrl);
  });

  it("a retraction is triaged again and posts a follow-up", async () => {
    const alertId = await raiseAlert("t2");
    await triage({ Records: await streamRecords() }, context("triage"));
    slackPosts = [];
    await deliver(sqsEvent(await receive(slackUrl)), context("deliver-slack"));
    expect(slackPosts).toHaveLength(1);
    await receive(ticketUrl);

    await store.update(alertKey(alertId), { set: { status: "retracted" } }, { op: "equals", attr: "status", value: "open" });
    const records = await streamRecords();
    expect(ids(records)).toContain("MODIFY:alert");
    expect(await triage({ Records: records }, context("triage"))).toEqual({ batchItemFailures: [] });
    expect((await getTriageResult(store, alertId, Math.floor(Date.now() / 1000)))?.status).toBe("retracted");
    const tickets = await receive(ticketUrl);
    expect(tickets.map((t) => TicketMessageSchema.parse(JSON.parse(t.Body!)).status)).toEqual(["retracted"]);
    const jobs = await receive(slackUrl);
    expect(jobs.map((j) => JSON.parse(j.Body!))).toEqual([{ type: "alert", alertId, phase: "retracted" }]);
    expect(await deliver(sqsEvent(jobs), context("deliver-slack"))).toEqual({ batchItemFailures: [] });
    expect(slackPosts).toHaveLength(2);
    expect(JSON.stringify(slackPosts[1]!.body)).toMatch(/retracted/i);
  });

  it("Slack's 429 keeps the job for a retry after Retry-After, then it posts once", async () => {
    await raiseAlert("t3");
    await triage({ Records: await streamRecords() }, context("triage"));
    await receive(ticketUrl);
    const jobs = await receive(slackUrl);
    slackPosts = [];
    slackReply = () => ({ status: 429, headers: { "retry-after": "7" }, body: "rate_limited" });
    try {
      const r = await deliver(sqsEvent(jobs), context("deliver-slack"));
      expect(r.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([jobs[0]!.MessageId]);
    } finally {
      slackReply = () => ({ status: 200, body: "ok" });
    }
    expect(slackPosts).toHaveLength(0);
    expect(await deliver(sqsEvent(jobs), context("deliver-slack"))).toEqual({ batchItemFailures: [] });
    expect(slackPosts).toHaveLength(1);
  });

  it("the sweep re-triages an alert whose stream record was lost", async () => {
    const alertId = await raiseAlert("t4", "8.8.4.4");
    await streamRecords(); // consumed and dropped: triage never saw it
    expect(await getTriageResult(store, alertId, Math.floor(Date.now() / 1000))).toBeNull();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 6 * 60_000 });
    try {
      const r = await sweep({}, context("sweep"));
      expect(r.failures).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect((await getTriageResult(store, alertId, Math.floor(Date.now() / 1000)))?.status).toBe("open");
    expect((await receive(slackUrl)).map((j) => JSON.parse(j.Body!).alertId)).toEqual([alertId]);
    await receive(ticketUrl);
  });

  it("triage redrive re-triages on demand and moves DLQ messages back", async () => {
    const { main } = await import("../bin/commands/index.js");
    const io = () => {
      const err: string[] = [];
      return { err, io: { stdout: () => {}, stderr: (t: string) => void err.push(t), cwd: process.cwd() } };
    };
    const alertId = await raiseAlert("t5", "8.8.8.8");
    await streamRecords(); // lost
    const a = io();
    expect(await main(["redrive", "--retriage", "--hours", "1"], a.io)).toBe(0);
    expect(a.err.join("")).toContain(`re-triaged alert ${alertId}`);
    expect((await getTriageResult(store, alertId, Math.floor(Date.now() / 1000)))?.status).toBe("open");
    await receive(slackUrl);
    await receive(ticketUrl);

    const dlq = await sqs.createQueue("slack-dlq");
    for (const n of [1, 2, 3]) {
      await sqs.client.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: JSON.stringify({ type: "alert", alertId: `x${n}`, phase: "open" }), MessageAttributes: { n: { DataType: "Number", StringValue: String(n) } } }));
    }
    const b = io();
    expect(await main(["redrive", "--dlq", dlq, "--to", slackUrl], b.io)).toBe(0);
    expect(b.err.join("")).toContain("3 messages moved");
    const moved = await receive(slackUrl);
    expect(moved.map((m) => [JSON.parse(m.Body!).alertId, m.MessageAttributes?.n?.StringValue]).sort()).toEqual([["x1", "1"], ["x2", "2"], ["x3", "3"]]);
    expect(await receive(dlq)).toHaveLength(0);
    expect(await main(["redrive", "--dlq", dlq], io().io)).toBe(2);
  });
});
