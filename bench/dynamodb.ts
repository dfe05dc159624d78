/**
 * DynamoDB requests and consumed capacity of the streaming detector, per 1,000 events of the
 * realistic stream, against DynamoDB Local: with the seed rule and with all production EQL rules.
 *
 * A proxy between the store adapter and DynamoDB Local counts the requests per operation and asks
 * for `ReturnConsumedCapacity: TOTAL` on each, summing what DynamoDB reports (transactions count
 * double, strongly consistent reads are 1 unit per 4 KB). From those units the cost per million
 * events at on-demand prices follows. The request targets of issue 5 are checked on the way:
 * events that match no stage make no request; writes are one BatchWriteItem per 25 rows of a batch;
 * reads are one Query per touched partition per batch (more only when a window passes 1 MB).
 *
 * Run alone: `npx tsx bench/dynamodb.ts [--events N] [--all-events N]`.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { detectBatch, sweepTimers, type DetectStats } from "../lib/detect/engine.js";
import { loadDetectionRules } from "../lib/detect/load-rules.js";
import type { DetectionRule } from "../lib/detect/rule.js";
import { eventIdentity, parseTimestamp } from "../lib/eql/index.js";
import type { AcceptedEvent } from "../lib/ingest/types.js";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { withTimeOffset } from "../lib/store/time-offset.js";
import { startDynamoLocal, testDynamoClient } from "../test/helpers/dynamodb-local.js";
import { fixtureRules } from "./detect.js";
import { generateEvents } from "./generate.js";
import { DEFAULT_FIXTURE, loadFixture, ROOT } from "./rules.js";

/**
 * DynamoDB on-demand prices, us-east-1, since the November 2024 price cut: $0.625 per million
 * write request units and $0.125 per million read request units. Stream reads by Lambda triggers
 * are free; storage is left out (state lives minutes to hours, alerts 30 days).
 */
export const PRICES = { writeUnitUsd: 0.625 / 1e6, readUnitUsd: 0.125 / 1e6, region: "us-east-1", asOf: "2026-11" } as const;

const BATCH = 100;

export interface DynamoFigures {
  readonly rules: number;
  readonly events: number;
  readonly batches: number;
  readonly candidateRows: number;
  readonly partitionsTouched: number;
  readonly alerts: number;
  readonly requests: Record<string, number>;
  readonly perThousandEvents: {
    readonly requests: number;
    readonly writeRequests: number;
    readonly queries: number;
    readonly readUnits: number;
    readonly writeUnits: number;
    readonly candidateRows: number;
  };
  /** BatchWriteItem requests / sum over batches of ceil(rows / 25): 1.0 is the target. */
  readonly writeRequestsPerIdeal: number;
  /** Query requests / partitions touched: 1.0 is the target. */
  readonly queriesPerPartition: number;
  readonly usdPerMillionEvents: { readonly reads: number; readonly writes: number; readonly total: number };
}

export interface DynamoBench {
  readonly startMs: number;
  readonly seedRule: DynamoFigures;
  readonly allRules: DynamoFigures;
  /**
   * Requests made for events that match no stage of the seed rule, with the seed rule loaded:
   * the target is 0. (With all production rules every generated event matches some stage: rules
   * such as "Elastic Defend Alert Followed by Telemetry Loss" have an `any where true` stage.)
   */
  readonly nonMatchingEvents: { readonly events: number; readonly requests: number };
  readonly prices: typeof PRICES;
}

interface Meter {
  readonly endpoint: string;
  readonly requests: Map<string, number>;
  readUnits: number;
  writeUnits: number;
  reset(): void;
  stop(): Promise<void>;
}

/** Counts requests and consumed capacity on their way to DynamoDB Local. */
async function startMeter(target: string): Promise<Meter> {
  const upstream = new URL(target);
  const meter = {
    endpoint: "", requests: new Map<string, number>(), readUnits: 0, writeUnits: 0,
    reset() {
      meter.requests.clear();
      meter.readUnits = 0;
      meter.writeUnits = 0;
    },
    stop: async () => {},
  };
  const WITH_CAPACITY = new Set(["Query", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "Scan", "BatchGetItem"]);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
      meter.requests.set(op, (meter.requests.get(op) ?? 0) + 1);
      let body = Buffer.concat(chunks);
      if (WITH_CAPACITY.has(op)) {
        // DynamoDB Local does not check the payload signature, so the request can be amended.
        body = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString("utf8")) as object, ReturnConsumedCapacity: "TOTAL" }));
      }
      const headers = { ...req.headers, host: upstream.host, "content-length": String(body.length) };
      const out = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
        const parts: Buffer[] = [];
        up.on("data", (c: Buffer) => parts.push(c));
        up.on("end", () => {
          const text = Buffer.concat(parts);
          if (WITH_CAPACITY.has(op) && up.statusCode === 200) count(meter, op, JSON.parse(text.toString("utf8")) as { ConsumedCapacity?: unknown });
          const h = { ...up.headers };
          delete h["x-amz-crc32"]; // the body is passed on unchanged, but keep the SDK from checking a header we did not touch either way
          res.writeHead(up.statusCode ?? 502, h);
          res.end(text);
        });
      });
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  meter.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  meter.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return meter;
}

interface Capacity {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

function count(meter: Meter, op: string, response: { ConsumedCapacity?: unknown }): void {
  const list = (Array.isArray(response.ConsumedCapacity) ? response.ConsumedCapacity : response.ConsumedCapacity ? [response.ConsumedCapacity] : []) as Capacity[];
  const reads = op === "Query" || op === "GetItem" || op === "Scan" || op === "BatchGetItem";
  for (const c of list) {
    if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
      meter.readUnits += c.ReadCapacityUnits ?? 0;
      meter.writeUnits += c.WriteCapacityUnits ?? 0;
    } else if (reads) meter.readUnits += c.CapacityUnits ?? 0;
    else meter.writeUnits += c.CapacityUnits ?? 0;
  }
}

function accepted(lines: readonly string[], from: number): AcceptedEvent[] {
  return lines.slice(from, from + BATCH).map((l, i) => {
    const event = JSON.parse(l) as Record<string, unknown>;
    return { event, ts: parseTimestamp(event["@timestamp"])!, id: eventIdentity(event), origin: { messageId: `m-${from + i}` } };
  });
}

async function runRules(meter: Meter, localEndpoint: string, table: string, rules: readonly DetectionRule[], lines: readonly string[], sweep = true): Promise<DynamoFigures> {
  await createStateTable(testDynamoClient(localEndpoint), table);
  const inner = new DynamoDbItemStore({ client: testDynamoClient(meter.endpoint, { maxAttempts: 1 }), tableName: table });
  let store = inner as import("../lib/store/items.js").ItemStore;
  const ctx = { get store() { return store; }, rules };
  const totals: Partial<DetectStats> & { candidates: number; partitions: number; alerts: number } = { candidates: 0, partitions: 0, alerts: 0 };
  let idealWrites = 0;
  let clock = 0;
  let nextMinute: number | null = null;
  meter.reset();
  let batches = 0;
  for (let i = 0; i < lines.length; i += BATCH) {
    const batch = accepted(lines, i);
    for (const a of batch) clock = Math.max(clock, Number(a.ts / 1_000_000n));
    // The capture's clock is in the past: shift TTLs as `triage replay --state dynamodb` does.
    if (batches === 0) store = withTimeOffset(inner, Math.max(0, Math.ceil((Date.now() - clock) / 1000)) + 86_400);
    const out = await detectBatch(ctx, batch, clock);
    batches++;
    totals.candidates += out.stats.candidates;
    totals.partitions += out.stats.partitions;
    totals.alerts += out.stats.alerts;
    idealWrites += Math.ceil(out.stats.candidates / 25);
    // The sweep Lambda runs once a minute whatever the traffic: one Query per minute of time.
    if (!sweep) continue;
    nextMinute ??= Math.floor(clock / 60_000);
    const swept = await sweepTimers(ctx, clock, nextMinute);
    nextMinute = swept.nextMinute;
    totals.alerts += swept.stats.alerts;
  }
  const requests = Object.fromEntries([...meter.requests].sort());
  const all = [...meter.requests.values()].reduce((a, b) => a + b, 0);
  const k = 1000 / lines.length;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const usd = { reads: meter.readUnits / lines.length * 1e6 * PRICES.readUnitUsd, writes: meter.writeUnits / lines.length * 1e6 * PRICES.writeUnitUsd };
  return {
    rules: rules.length, events: lines.length, batches, candidateRows: totals.candidates, partitionsTouched: totals.partitions, alerts: totals.alerts, requests,
    perThousandEvents: {
      requests: r1(all * k), writeRequests: r1((meter.requests.get("BatchWriteItem") ?? 0) * k), queries: r1((meter.requests.get("Query") ?? 0) * k),
      readUnits: r1(meter.readUnits * k), writeUnits: r1(meter.writeUnits * k), candidateRows: r1(totals.candidates * k),
    },
    writeRequestsPerIdeal: idealWrites === 0 ? 1 : Math.round(((meter.requests.get("BatchWriteItem") ?? 0) / idealWrites) * 1000) / 1000,
    queriesPerPartition: totals.partitions === 0 ? 1 : Math.round(((meter.requests.get("Query") ?? 0) / totals.partitions) * 1000) / 1000,
    usdPerMillionEvents: { reads: Math.round(usd.reads * 1000) / 1000, writes: Math.round(usd.writes * 1000) / 1000, total: Math.round((usd.reads + usd.writes) * 1000) / 1000 },
  };
}

/** Events that match no stage of any of the rules (tested directly against every predicate). */
function nonMatching(lines: readonly string[], rules: readonly DetectionRule[], max: number): string[] {
  const stages = rules.flatMap((r) => [...r.query.stages, ...(r.query.until ? [r.query.until] : [])]);
  const out: string[] = [];
  for (const l of lines) {
    if (out.length >= max) break;
    const e = JSON.parse(l) as Record<string, unknown>;
    if (!stages.some((s) => s.matches(e))) out.push(l);
  }
  return out;
}

export async function measureDynamo(lines: readonly string[], options: { seedEvents: number; allEvents: number; fixture?: string }): Promise<DynamoBench> {
  const dynamo = await startDynamoLocal();
  const meter = await startMeter(dynamo.endpoint);
  try {
    const seed = (await loadDetectionRules([join(ROOT, "rules")])).rules;
    const all = fixtureRules(loadFixture(options.fixture ?? DEFAULT_FIXTURE));
    const seedRule = await runRules(meter, dynamo.endpoint, "bench-seed", seed, lines.slice(0, options.seedEvents));
    const allRules = await runRules(meter, dynamo.endpoint, "bench-all", all, lines.slice(0, options.allEvents));
    const quiet = nonMatching(lines, seed, 5_000);
    const none = await runRules(meter, dynamo.endpoint, "bench-none", seed, quiet, false);
    return {
      startMs: dynamo.startMs, seedRule, allRules,
      nonMatchingEvents: { events: quiet.length, requests: Object.values(none.requests).reduce((a, b) => a + b, 0) },
      prices: PRICES,
    };
  } finally {
    await meter.stop();
    await dynamo.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { events: { type: "string" }, "all-events": { type: "string" } } });
  const seedEvents = Number(values.events ?? 20_000);
  const allEvents = Number(values["all-events"] ?? 10_000);
  const { lines } = generateEvents({ events: Math.max(seedEvents, allEvents, 20_000), seed: 1 });
  const result = await measureDynamo(lines, { seedEvents, allEvents });
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}
