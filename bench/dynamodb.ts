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
import { startDynamoProxy, type DynamoProxy } from "../test/helpers/dynamodb-proxy.js";
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

function accepted(lines: readonly string[], from: number): AcceptedEvent[] {
  return lines.slice(from, from + BATCH).map((l, i) => {
    const event = JSON.parse(l) as Record<string, unknown>;
    return { event, ts: parseTimestamp(event["@timestamp"])!, id: eventIdentity(event), origin: { messageId: `m-${from + i}` } };
  });
}

async function runRules(meter: DynamoProxy, localEndpoint: string, table: string, rules: readonly DetectionRule[], lines: readonly string[], sweep = true): Promise<DynamoFigures> {
  await createStateTable(testDynamoClient(localEndpoint), table);
  const inner = new DynamoDbItemStore({ client: testDynamoClient(meter.endpoint, { maxAttempts: 1 }), tableName: table });
  let store = inner as import("../lib/store/items.js").ItemStore;
  const ctx = { get store() { return store; }, rules };
  const totals: Partial<DetectStats> & { candidates: number; partitions: number; alerts: number } = { candidates: 0, partitions: 0, alerts: 0 };
  let idealWrites = 0;
  let clock = 0;
  let nextMinute: number | null = null;
  meter.resetCounts();
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
  const requests = Object.fromEntries([...meter.counts].sort());
  const all = [...meter.counts.values()].reduce((a, b) => a + b, 0);
  const k = 1000 / lines.length;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const usd = { reads: meter.readUnits / lines.length * 1e6 * PRICES.readUnitUsd, writes: meter.writeUnits / lines.length * 1e6 * PRICES.writeUnitUsd };
  return {
    rules: rules.length, events: lines.length, batches, candidateRows: totals.candidates, partitionsTouched: totals.partitions, alerts: totals.alerts, requests,
    perThousandEvents: {
      requests: r1(all * k), writeRequests: r1((meter.counts.get("BatchWriteItem") ?? 0) * k), queries: r1((meter.counts.get("Query") ?? 0) * k),
      readUnits: r1(meter.readUnits * k), writeUnits: r1(meter.writeUnits * k), candidateRows: r1(totals.candidates * k),
    },
    writeRequestsPerIdeal: idealWrites === 0 ? 1 : Math.round(((meter.counts.get("BatchWriteItem") ?? 0) / idealWrites) * 1000) / 1000,
    queriesPerPartition: totals.partitions === 0 ? 1 : Math.round(((meter.counts.get("Query") ?? 0) / totals.partitions) * 1000) / 1000,
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
  // The test suite's proxy in front of DynamoDB Local, counting requests and consumed capacity.
  const meter = await startDynamoProxy(dynamo.endpoint, { meterCapacity: true });
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
