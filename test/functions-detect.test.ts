/**
 * The detect and sweep Lambdas end to end: real SQSEvent payloads into the handlers, state in
 * DynamoDB Local (behind a proxy that counts requests and injects faults), rejected records into
 * local-aws-sqs. The handlers are configured only through the environment, as the stack does.
 */
import { DeleteQueueCommand, type Message } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import fc from "fast-check";
import { randomUUID, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Alert } from "../lib/detect/alert.js";
import { partitionKey } from "../lib/detect/keys.js";
import { evaluate, eventIdentity, type Event } from "../lib/eql/index.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { alertMembers, referenceMatches, testRule } from "./helpers/detect-harness.js";
import { startDynamoProxy, type DynamoProxy } from "./helpers/dynamodb-proxy.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";
import { RULE_QUERIES, scenario, stream } from "./helpers/scenarios.js";
import { seedAttack } from "./helpers/seed-attack.js";
import { s3Notification, startS3, type TestS3 } from "./helpers/s3.js";
import { startSqs, type TestSqs } from "./helpers/sqs-server.js";

const NUM_RUNS = Number(process.env.HANDLER_RUNS ?? 8);
const SEED_ID = "3e441bdb-596c-44fd-8628-2cfdf4516ada";
const TABLE = "state";

let dynamo: TestDynamo;
let proxy: DynamoProxy;
let sqs: TestSqs;
let s3: TestS3;
let rejectedUrl: string;
let rulesDir: string;
let doc: DynamoDBDocumentClient;
type Handler = (event: unknown, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let detect: Handler;
let sweep: (event: unknown, context: Context) => Promise<{ fromMinute: number; nextMinute: number; alerts: number; failures: number }>;
const saved: Record<string, string | undefined> = {};

/** Seed rule as shipped, plus the until, runs and trailing-missing rules of the property tests. */
function writeRules(dir: string): void {
  const seed = readFileSync(new URL("../rules/initial_access_execution_remote_via_msiexec.toml", import.meta.url), "utf8");
  writeFileSync(path.join(dir, "seed.toml"), seed);
  for (const id of ["until", "runs", "trailing"] as const) {
    const toml = seed
      .replace(/rule_id = "[^"]+"/, `rule_id = "${id}"`)
      .replace(/name = "Potential Remote File Execution via MSIEXEC"/, `name = "test ${id}"`)
      .replace(/query = '''[\s\S]*?'''/, `query = '''\n${RULE_QUERIES[id]}\n'''`);
    writeFileSync(path.join(dir, `${id}.toml`), toml);
  }
}

function setEnv(values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}

beforeAll(async () => {
  [dynamo, sqs, s3] = await Promise.all([startDynamoLocal(), startSqs(), startS3(["ingest-bucket"], { acceptKeys: [{ accessKeyId: "x", secretAccessKey: "x" }] })]);
  proxy = await startDynamoProxy(dynamo.endpoint);
  await createStateTable(testDynamoClient(dynamo.endpoint), TABLE);
  doc = DynamoDBDocumentClient.from(testDynamoClient(dynamo.endpoint));
  rejectedUrl = await sqs.createQueue("rejected-events");
  rulesDir = mkdtempSync(path.join(tmpdir(), "detect-rules-"));
  writeRules(rulesDir);
  setEnv({
    AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x",
    AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint, AWS_ENDPOINT_URL_SQS: sqs.endpoint, AWS_ENDPOINT_URL_S3: s3.endpoint,
    STATE_TABLE: TABLE, REJECTED_QUEUE_URL: rejectedUrl, RULES_DIR: rulesDir,
    POWERTOOLS_METRICS_NAMESPACE: "EqlStreamTriageTest", POWERTOOLS_LOG_LEVEL: "ERROR",
  });
  detect = (await import("../functions/detect.js")).handler as unknown as Handler;
  sweep = (await import("../functions/sweep.js")).handler as unknown as typeof sweep;
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await proxy?.stop();
  await sqs?.stop();
  await s3?.stop();
  await dynamo?.stop();
  if (rulesDir) rmSync(rulesDir, { recursive: true, force: true });
});

function context(name = "detect"): Context {
  return {
    callbackWaitsForEmptyEventLoop: true, functionName: name, functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`, memoryLimitInMB: "1024",
    awsRequestId: randomUUID(), logGroupName: `/aws/lambda/${name}`, logStreamName: "2026/11/29/[$LATEST]abc",
    getRemainingTimeInMillis: () => 60_000, done: () => {}, fail: () => {}, succeed: () => {},
  };
}

/** An SQS event as Lambda delivers it. */
function sqsEvent(messages: readonly { id: string; body: string }[]): SQSEvent {
  const now = String(Date.now());
  return {
    Records: messages.map((m): SQSRecord => ({
      messageId: m.id, receiptHandle: `rh-${m.id}`, body: m.body,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: now, SenderId: "AIDAEXAMPLE", ApproximateFirstReceiveTimestamp: now },
      messageAttributes: {}, md5OfBody: createHash("md5").update(m.body).digest("hex"),
      eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:events", awsRegion: "us-east-1",
    })),
  };
}

const ndjson = (events: readonly object[]) => events.map((e) => JSON.stringify(e)).join("\n");

interface AlertItem {
  readonly ruleId: string;
  readonly status: string;
  readonly alert: Alert;
}

async function alertItems(): Promise<AlertItem[]> {
  const items: AlertItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new ScanCommand({ TableName: TABLE, FilterExpression: "sk = :a", ExpressionAttributeValues: { ":a": "alert" }, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((out.Items ?? []) as AlertItem[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

async function alertsWithPrefix(prefix: string, ruleId?: string): Promise<AlertItem[]> {
  return (await alertItems()).filter((i) => (ruleId === undefined || i.ruleId === ruleId) && alertMembers(i.alert).some((m) => m.startsWith(prefix)));
}

/** The seed rule's alerts among those events (the test rules also match parts of the attack). */
const seedAlerts = (prefix: string) => alertsWithPrefix(prefix, SEED_ID);

/** Captures what the handler writes to stdout (Powertools EMF lines). */
async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return typeof rest[rest.length - 1] === "function" ? ((rest[rest.length - 1] as () => void)(), true) : true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), out };
  } finally {
    process.stdout.write = write;
  }
}

const attrs = (m: Message) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));

describe("detect handler", () => {
  it("raises the seed alert from events spread over messages, sends bad records to the rejected queue, emits metrics", async () => {
    const evs = seedAttack({ idPrefix: "basic", start: new Date(Date.now() - 120_000).toISOString() });
    const event = sqsEvent([
      { id: "m1", body: ndjson([evs[0]!]) + "\n{not json" },
      { id: "m2", body: JSON.stringify(evs[1]) },
      { id: "m3", body: JSON.stringify([evs[2], 42]) },
    ]);
    const { result, out } = await captureStdout(() => detect(event, context()));
    expect(result).toEqual({ batchItemFailures: [] });

    const alerts = await seedAlerts("basic-");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.ruleId).toBe(SEED_ID);
    expect(alertMembers(alerts[0]!.alert)).toEqual(["basic-1", "basic-2", "basic-3"]);

    const rejected = await sqs.drain(rejectedUrl);
    expect(rejected.map((m) => [attrs(m).reason, attrs(m).sourceMessageId, m.Body]).sort()).toEqual([
      ["invalid_json", "m1", "{not json"],
      ["not_an_object", "m3", "42"],
    ]);
    expect(attrs(rejected.find((m) => attrs(m).sourceMessageId === "m1")!).line).toBe("2");

    const emf = out.split("\n").filter((l) => l.includes("_aws")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const values = Object.assign({}, ...emf) as Record<string, unknown>;
    expect(values.EventsIn).toBe(5);
    expect(values.Rejected).toBe(2);
    // The seed alert and the test "until" rule's (msiexec start, then its connection).
    expect(values.Alerts).toBe((await alertsWithPrefix("basic-")).length);
    expect(values.Alerts).toBe(2);
    expect(typeof values.AlertLagMs === "number" || Array.isArray(values.AlertLagMs)).toBe(true);
    expect(emf.some((m) => m.Reason === "invalid_json" && m.RejectedByReason === 1)).toBe(true);
  });

  it("reads events from S3 objects named in S3 notifications", async () => {
    const evs = seedAttack({ idPrefix: "froms3", start: new Date(Date.now() - 80_000).toISOString() });
    await s3.put("ingest-bucket", "logs/2026/11/29/part 1.ndjson", ndjson(evs));
    const event = sqsEvent([{ id: "s3-1", body: s3Notification([{ bucket: "ingest-bucket", key: "logs/2026/11/29/part 1.ndjson" }]) }]);
    expect(await detect(event, context())).toEqual({ batchItemFailures: [] });
    expect((await seedAlerts("froms3-")).map((a) => alertMembers(a.alert))).toEqual([["froms3-1", "froms3-2", "froms3-3"]]);
  });

  it("is idempotent: a redelivered batch raises nothing new", async () => {
    const evs = seedAttack({ idPrefix: "again", start: new Date(Date.now() - 100_000).toISOString() });
    const event = sqsEvent([{ id: "a1", body: ndjson(evs) }]);
    expect(await detect(event, context())).toEqual({ batchItemFailures: [] });
    expect(await detect(event, context())).toEqual({ batchItemFailures: [] });
    expect(await seedAlerts("again-")).toHaveLength(1);
  });

  it("an attack whose events carry megabyte ids, join keys, tiebreakers and arguments is still detected", async () => {
    const entity = "E".repeat(1_000_000);
    // 64 arguments of 2,048 three-byte characters: 390 KB per field, incompressible enough
    const bulkyArgs = Array.from({ length: 64 }, (_, a) => Array.from({ length: 2048 }, (_, c) => String.fromCharCode(0x4e00 + ((a * 2048 + c) * 7919) % 20000)).join(""));
    const evs = seedAttack({ idPrefix: "hugeid", start: new Date(Date.now() - 90_000).toISOString() }).map((e, i) => {
      const p = e.process as Record<string, unknown> & { parent?: Record<string, unknown> };
      return {
        ...e,
        event: { ...(e.event as object), id: `hugeid-${i}-` + "x".repeat(1_000_000), sequence: "s".repeat(1_000_000) },
        process: {
          ...p, args: [...((p.args as string[] | undefined) ?? []), ...bulkyArgs],
          parent: { ...p.parent, args: bulkyArgs, ...(i < 2 ? {} : { entity_id: entity }) }, ...(i < 2 ? { entity_id: entity } : {}),
        },
      };
    });
    const event = sqsEvent(evs.map((e, i) => ({ id: `h${i}`, body: JSON.stringify(e) })));
    expect(await detect(event, context())).toEqual({ batchItemFailures: [] });
    const alerts = await seedAlerts("hugeid-");
    expect(alerts).toHaveLength(1);
    const members = (alerts[0] as unknown as { members: { id: string }[] }).members;
    expect(members.map((m) => m.id.slice(0, 10))).toEqual(["sha256-id:", "sha256-id:", "sha256-id:"]);
    // the projections are clipped to their budget and the cut fields flagged
    expect(Buffer.byteLength(JSON.stringify(alerts[0]!.alert))).toBeLessThan(100_000);
    expect(alerts[0]!.alert.flags?.join()).toContain("process.args");
  });

  it("throws on a payload that is not an SQS event (Lambda retries the whole batch)", async () => {
    await expect(detect({ Records: [{ body: "x" }] }, context())).rejects.toThrow();
  });

  it("a DynamoDB failure in one partition fails exactly the messages that fed it; redelivery completes it once", async () => {
    const start = Date.now() - 80_000;
    const a = seedAttack({ idPrefix: "pa", start: new Date(start).toISOString() });
    const b = seedAttack({ idPrefix: "pb", start: new Date(start + 500).toISOString() });
    const messages = [
      { id: "a-1", body: JSON.stringify(a[0]) }, { id: "b-1", body: JSON.stringify(b[0]) },
      { id: "a-2", body: JSON.stringify(a[1]) }, { id: "b-2", body: JSON.stringify(b[1]) },
      { id: "ab-3", body: ndjson([a[2]!]) }, { id: "b-3", body: JSON.stringify(b[2]) },
      { id: "noise", body: JSON.stringify({ "@timestamp": new Date(start).toISOString(), event: { id: "pn-1", category: ["file"] } }) },
    ];
    const pkB = partitionKey(SEED_ID, ["pb-msiexec-entity"]);
    proxy.fault = (req) => (req.operation === "Query" && req.body.includes(pkB) ? { kind: "server_error" } : null);
    let result;
    try {
      result = await detect(sqsEvent(messages), context());
    } finally {
      proxy.fault = () => null;
    }
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["b-1", "b-2", "b-3"]);
    expect(await seedAlerts("pa-")).toHaveLength(1);
    expect(await seedAlerts("pb-")).toHaveLength(0);

    // SQS redelivers the failed messages (here with one of the others, delivered twice).
    const again = messages.filter((m) => m.id.startsWith("b-") || m.id === "a-2");
    expect(await detect(sqsEvent(again), context())).toEqual({ batchItemFailures: [] });
    expect((await seedAlerts("pa-")).map((i) => alertMembers(i.alert))).toEqual([["pa-1", "pa-2", "pa-3"]]);
    expect((await seedAlerts("pb-")).map((i) => alertMembers(i.alert))).toEqual([["pb-1", "pb-2", "pb-3"]]);
  });

  it("survives throttling mid-batch (retried) and a failing alert transaction (reported, then redelivered)", async () => {
    const start = Date.now() - 70_000;
    const t = seedAttack({ idPrefix: "thr", start: new Date(start).toISOString() });
    let throttles = 0;
    proxy.fault = (req) => ((req.operation === "BatchWriteItem" || req.operation === "Query") && throttles++ < 3 ? { kind: "throttle" } : null);
    try {
      expect(await detect(sqsEvent([{ id: "t1", body: ndjson(t) }]), context())).toEqual({ batchItemFailures: [] });
    } finally {
      proxy.fault = () => null;
    }
    expect(throttles).toBeGreaterThanOrEqual(3);
    expect(await seedAlerts("thr-")).toHaveLength(1);

    const x = seedAttack({ idPrefix: "tx", start: new Date(start + 1000).toISOString() });
    proxy.fault = (req) => (req.operation === "TransactWriteItems" && req.body.includes("tx-1") ? { kind: "throttle" } : null);
    let failed;
    try {
      failed = await detect(sqsEvent([{ id: "x1", body: ndjson(x.slice(0, 2)) }, { id: "x2", body: JSON.stringify(x[2]) }]), context());
    } finally {
      proxy.fault = () => null;
    }
    expect(failed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["x1", "x2"]);
    expect(await seedAlerts("tx-")).toHaveLength(0);
    expect(await detect(sqsEvent([{ id: "x1", body: ndjson(x.slice(0, 2)) }, { id: "x2", body: JSON.stringify(x[2]) }]), context())).toEqual({ batchItemFailures: [] });
    expect(await seedAlerts("tx-")).toHaveLength(1);
  });
});

describe("sweep handler", () => {
  it("decides a trailing missing-event stage once its timer is due, and keeps a cursor", async () => {
    // The timer is due at first event + 1m maxspan + 15m lateness: 6 minutes from now.
    const t = Date.now() - 10 * 60_000;
    const start = { "@timestamp": new Date(t).toISOString(), event: { id: "sw-1", category: ["process"], action: "start" }, host: { id: "sw-host" } };
    expect(await detect(sqsEvent([{ id: "s1", body: JSON.stringify(start) }]), context())).toEqual({ batchItemFailures: [] });
    const early = await sweep({}, context("sweep"));
    expect(early.failures).toBe(0);
    expect(await alertsWithPrefix("sw-")).toHaveLength(0);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 8 * 60_000 });
    try {
      const due = await sweep({}, context("sweep"));
      expect(due.fromMinute).toBe(early.nextMinute);
      expect(due.failures).toBe(0);
      const swept = await alertsWithPrefix("sw-");
      expect(swept.map((i) => [i.ruleId, alertMembers(i.alert)])).toEqual([["trailing", ["sw-1", "-"]]]);
      const again = await sweep({}, context("sweep"));
      expect(again.fromMinute).toBe(due.nextMinute);
      expect(await alertsWithPrefix("sw-")).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("handler properties on DynamoDB Local", () => {
  const rules = { seed: testRule(RULE_QUERIES.seed, { rule_id: SEED_ID }), until: testRule(RULE_QUERIES.until, { rule_id: "until" }), runs: testRule(RULE_QUERIES.runs, { rule_id: "runs" }) };
  const key = (m: readonly string[]) => m.join(",");
  let run = 0;

  /** Messages of 1-3 events (NDJSON), in the given event order. */
  function toMessages(evs: readonly Event[], sizes: readonly number[], tag: string): { id: string; body: string }[] {
    const out: { id: string; body: string }[] = [];
    for (let i = 0, k = 0; i < evs.length; k++) {
      const n = 1 + ((sizes[k % sizes.length] ?? 0) % 3);
      out.push({ id: `${tag}-m${k}`, body: ndjson(evs.slice(i, i + n)) });
      i += n;
    }
    return out;
  }

  it("in time order, sequential batches of any size give exactly the reference alerts", async () => {
    await fc.assert(fc.asyncProperty(fc.array(scenario, { minLength: 1, maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), async (scenarios, sizes) => {
      const prefix = `seqrun${run++}-`;
      const evs = stream(scenarios, { t0: Date.now() - 13 * 60_000, prefix });
      const messages = toMessages(evs, sizes, prefix);
      for (let i = 0, b = 0; i < messages.length; b++) {
        const n = sizes[b % sizes.length]!;
        expect(await detect(sqsEvent(messages.slice(i, i + n)), context())).toEqual({ batchItemFailures: [] });
        i += n;
      }
      const raised = await alertsWithPrefix(prefix);
      for (const [id, rule] of Object.entries(rules)) {
        const got = raised.filter((r) => r.ruleId === rule.id).map((r) => key(alertMembers(r.alert))).sort();
        expect(got, `rule ${id}`).toEqual(referenceMatches(rule, evs).map(key).sort());
      }
    }), { numRuns: NUM_RUNS });
  });

  it("concurrent invocations on overlapping partitions, out of order, with duplicates: sound, exclusive, complete", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(scenario, { minLength: 1, maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 2, max: 4 }),
      async (scenarios, sizes, order, dups, concurrency) => {
        const prefix = `conc${run++}-`;
        const evs = stream(scenarios, { t0: Date.now() - 13 * 60_000, prefix });
        const messages = toMessages(evs, sizes, prefix);
        // Arrival: a shuffle (every event is within the allowed lateness of now), plus duplicates.
        const arrivals = messages.map((m, i) => ({ m, k: order[i % order.length]! * 1000 + i }));
        for (const d of dups) if (messages.length > 0) arrivals.push({ m: messages[d % messages.length]!, k: d });
        arrivals.sort((x, y) => x.k - y.k);
        const batches: { id: string; body: string }[][] = [];
        for (let i = 0, b = 0; i < arrivals.length; b++) {
          const n = sizes[b % sizes.length]!;
          // One SQS batch never holds the same message twice.
          const batch = [...new Map(arrivals.slice(i, i + n).map((x) => [x.m.id, x.m])).values()];
          batches.push(batch);
          i += n;
        }
        for (let i = 0; i < batches.length; i += concurrency) {
          const results = await Promise.all(batches.slice(i, i + concurrency).map((batch) => detect(sqsEvent(batch), context())));
          for (const r of results) expect(r).toEqual({ batchItemFailures: [] });
        }
        const raised = await alertsWithPrefix(prefix);
        const byId = new Map(evs.map((e) => [eventIdentity(e), e]));
        for (const [id, rule] of Object.entries(rules)) {
          const alerts = raised.filter((r) => r.ruleId === rule.id).map((r) => r.alert);
          const used = new Set<string>();
          for (const a of alerts) {
            const members = alertMembers(a);
            const own = members.filter((m) => m !== "-").map((m) => byId.get(m)!);
            const again = evaluate(rule.query, own, { tiebreakerField: "event.sequence" }).results
              .map((r) => (r.kind === "event" ? [eventIdentity(r.event)] : r.events.map((x) => (x === null ? "-" : eventIdentity(x)))));
            expect(again.map(key), `${id}: alert ${key(members)} is a match of its own events`).toContain(key(members));
            members.forEach((m, stage) => {
              if (m === "-") return;
              const pair = `${JSON.stringify(a.group.by)}|${m}|${stage}`;
              expect(used.has(pair), `${id}: pair ${pair} in two alerts`).toBe(false);
              used.add(pair);
            });
          }
          const sets = alerts.map((a) => new Set(alertMembers(a).filter((m) => m !== "-")));
          for (const ref of referenceMatches(rule, evs)) {
            const ids = ref.filter((m) => m !== "-");
            expect(sets.some((s) => ids.some((x) => s.has(x))), `${id}: reference ${key(ref)} missed`).toBe(true);
          }
        }
      }), { numRuns: NUM_RUNS });
  });
});

// SQS refuses a queue name for 60 s after the queue is deleted: this runs last.
describe("detect handler without its rejected-events queue", () => {
  it("reports the messages whose rejections could not be sent, and only those", async () => {
    await sqs.client.send(new DeleteQueueCommand({ QueueUrl: rejectedUrl }));
    {
      const evs = seedAttack({ idPrefix: "nosend", start: new Date(Date.now() - 90_000).toISOString() });
      const result = await detect(sqsEvent([{ id: "bad", body: "[1, 2]" }, { id: "good", body: ndjson(evs) }]), context());
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "bad" }] });
      expect(await seedAlerts("nosend-")).toHaveLength(1);
    }
  });

});
