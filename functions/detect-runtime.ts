/**
 * What the detect and sweep functions set up once per cold start: configuration from the
 * environment (lib/infra/env.ts, the contract with the stack), the DynamoDB store, the rules
 * (loaded and compiled once), the rejected-events sender, Powertools logger and metrics.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { loadDetectionRules } from "../lib/detect/load-rules.js";
import { readRuleCache } from "../lib/rules/parse-cache.js";
import type { DetectContext, EngineOptions } from "../lib/detect/engine.js";
import type { RejectedSender } from "../lib/ingest/rejected-queue.js";
import type { ObjectReader } from "../lib/ingest/s3.js";
import type { IngestOptions } from "../lib/ingest/decode.js";
import { ENV } from "../lib/infra/env.js";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import type { ItemStore } from "../lib/store/items.js";

import { logger, metrics } from "./observability.js";

export { logger, metrics };

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

export interface DetectRuntime {
  readonly detect: DetectContext;
  readonly rejected: RejectedSender;
  readonly s3: ObjectReader;
  readonly ingest: IngestOptions;
  readonly ruleCount: number;
}

let runtime: Promise<DetectRuntime> | null = null;

/** The runtime of this container, built on first use; a failed build is retried on the next call. */
export function detectRuntime(env: Readonly<Record<string, string | undefined>> = process.env, purpose: "detect" | "sweep" = "detect"): Promise<DetectRuntime> {
  runtime ??= build(env, purpose).catch((err: unknown) => {
    runtime = null;
    throw err;
  });
  return runtime;
}

async function build(env: Readonly<Record<string, string | undefined>>, purpose: "detect" | "sweep"): Promise<DetectRuntime> {
  const problems: string[] = [];
  const table = env[ENV.table];
  if (!table) problems.push(`${ENV.table} is not set`);
  const rejectedQueueUrl = env[ENV.rejectedQueueUrl];
  // Rejected records must go somewhere; the sweep never decodes any.
  if (!rejectedQueueUrl && purpose === "detect") problems.push(`${ENV.rejectedQueueUrl} is not set`);
  const lateness = seconds(env, ENV.allowedLatenessSeconds, 900, problems);
  const skew = seconds(env, ENV.maxFutureSkewSeconds, 300, problems);
  const withoutDataStream = env[ENV.matchEventsWithoutDataStream];
  if (withoutDataStream !== undefined && withoutDataStream !== "true" && withoutDataStream !== "false") {
    problems.push(`${ENV.matchEventsWithoutDataStream} must be "true" or "false", got "${withoutDataStream}"`);
  }
  if (problems.length > 0) throw new ConfigurationError(`bad configuration: ${problems.join("; ")}`);

  const rulesDir = env[ENV.rulesDir] ?? defaultRulesDir();
  const started = Date.now();
  // The rules were validated when the function was bundled (lib/rules/parse-cache.ts); a rule
  // folder without that cache, or a file changed since, is parsed and validated here.
  const { cache, problem: cacheProblem } = await readRuleCache(rulesDir);
  if (cacheProblem) logger.warn("rule cache not used", { problem: cacheProblem });
  const loaded = await loadDetectionRules([rulesDir], { matchEventsWithoutDataStream: withoutDataStream !== "false", ...(cache ? { cache } : {}) });
  // A broken rule is reported and skipped (cdk-nag style isolation); no rule at all is a broken
  // deployment, and failing loudly keeps the events in the queue rather than dropping them.
  for (const p of loaded.problems) logger.error("rule skipped", { problem: p });
  if (loaded.problems.length > 0) metrics.addMetric("RuleErrors", "Count", loaded.problems.length);
  if (loaded.rules.length === 0) throw new ConfigurationError(`no loadable EQL rule in ${rulesDir}`);
  logger.info("rules loaded", { rules: loaded.rules.length, skipped: loaded.skipped, cached: cache?.size ?? 0, ms: Date.now() - started, rulesDir });

  const options: Partial<EngineOptions> = { allowedLatenessMs: lateness * 1000 };
  return {
    // The store adapter retries throttling and 5xx itself, with jitter; SDK retries on top would
    // multiply into tens of seconds on a persistent fault before the partition is reported failed.
    detect: { store: lazyStore(() => new DynamoDbItemStore({ client: new DynamoDBClient({ maxAttempts: 1 }), tableName: table! })), rules: loaded.rules, options },
    rejected: rejectedQueueUrl
      ? lazySender(async () => {
        const [{ SQSClient }, { rejectedQueueSender }] = await Promise.all([import("@aws-sdk/client-sqs"), import("../lib/ingest/rejected-queue.js")]);
        return rejectedQueueSender({ client: new SQSClient({}), queueUrl: rejectedQueueUrl });
      })
      : noRejectedQueue,
    s3: lazyReader(async () => {
      const { s3ClientFromEnv, s3ObjectReader } = await import("../lib/ingest/s3.js");
      return s3ObjectReader(s3ClientFromEnv(env));
    }),
    ingest: { maxFutureSkewMs: skew * 1000 },
    ruleCount: loaded.rules.length,
  };
}

// The AWS clients are built on first use, not with the runtime: an SDK client costs 1-5 ms to
// construct in a cold container (~9 ms for the three), and many invocations need none of them.
// Events mostly arrive in the message body (S3 is read only for S3 notifications), rejected
// records are the exception, and the store is used only when a rule has a candidate (rarely, with
// few rules). A failed construction rejects the call that needed the client, as the client's own
// failure would, and is tried again on the next call.
// The S3 and SQS client modules are also imported on first use (esbuild keeps a dynamically
// imported module in the one-file bundle but runs its top level only when the import happens):
// a deployment without S3 ingest never pays for evaluating the S3 client at all.

function lazyStore(make: () => ItemStore): ItemStore {
  let store: ItemStore | undefined;
  const get = (): ItemStore => (store ??= make());
  return {
    batchPut: async (items) => get().batchPut(items),
    query: async (pk, range, options) => get().query(pk, range, options),
    get: async (key, options) => get().get(key, options),
    update: async (key, update, condition) => get().update(key, update, condition),
    transact: async (ops) => get().transact(ops),
    delete: async (key) => get().delete(key),
  };
}

/** A value made on first use; a failed making is tried again on the next use. */
function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make().catch((err: unknown) => {
    made = undefined;
    throw err;
  }));
}

function lazySender(make: () => Promise<RejectedSender>): RejectedSender {
  const sender = onFirstUse(make);
  return { send: async (rejected) => (await sender()).send(rejected) };
}

function lazyReader(make: () => Promise<ObjectReader>): ObjectReader {
  const reader = onFirstUse(make);
  return { open: async (bucket, key, options) => (await reader()).open(bucket, key, options) };
}

const noRejectedQueue: RejectedSender = {
  send: async (rejected) => ({ sent: 0, failed: rejected.map((r) => ({ rejected: r, error: `${ENV.rejectedQueueUrl} is not set` })) }),
};

/** `rules/` next to the bundle (the stack copies it there); from a source checkout, the repo's. */
function defaultRulesDir(): string {
  const beside = fileURLToPath(new URL("./rules/", import.meta.url));
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL("../rules/", import.meta.url));
}

function seconds(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    problems.push(`${name} must be a whole number of seconds, got "${raw}"`);
    return fallback;
  }
  return n;
}
