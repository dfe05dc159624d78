/**
 * What the triage, deliver-slack and sweep functions set up once per cold start for triage and
 * delivery: the store, the rules' guides, reputation providers (keys from Secrets Manager, lists
 * from the bundle or S3), routing, and the ticket and Slack outputs. Configuration comes from the
 * environment (lib/infra/env.ts); secrets only from Secrets Manager.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { dispatchTriage, sqsSlackOutput, sqsTicketOutput, type DispatchDeps, type DispatchOutcome } from "../lib/deliver/dispatch.js";
import type { AlertRecord } from "../lib/deliver/retriage.js";
import { parseRoutingConfig } from "../lib/deliver/routing.js";
import { ENV } from "../lib/infra/env.js";
import { s3ClientFromEnv, s3ObjectReader } from "../lib/ingest/s3.js";
import { loadRules } from "../lib/rules/load.js";
import { readRuleCache } from "../lib/rules/parse-cache.js";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import type { ItemStore } from "../lib/store/items.js";
import { reputationCache } from "../lib/store/reputation-cache.js";
import { buildTriageResult, ruleContexts, type RuleContext } from "../lib/triage/build.js";
import { parseListSpecs } from "../lib/triage/reputation/lists.js";
import type { ReputationProvider } from "../lib/triage/reputation/provider.js";
import { loadProviderKeys } from "../lib/triage/reputation/secrets.js";
import { createReputationProviders } from "../lib/triage/reputation/setup.js";
import type { Logger } from "@aws-lambda-powertools/logger";

export interface TriageRuntime {
  readonly store: ItemStore;
  readonly rules: ReadonlyMap<string, RuleContext>;
  readonly providers: readonly ReputationProvider[];
  readonly dispatch: DispatchDeps;
  readonly sqs: SQSClient;
}

export class TriageConfigurationError extends Error {
  override readonly name = "TriageConfigurationError";
}

let runtime: Promise<TriageRuntime> | null = null;

export function triageRuntime(logger: Logger, env: Readonly<Record<string, string | undefined>> = process.env): Promise<TriageRuntime> {
  runtime ??= build(logger, env).catch((err: unknown) => {
    runtime = null;
    throw err;
  });
  return runtime;
}

/** `rules/` (and `lists/`) next to the bundle; from a source checkout, the repo's. */
function bundleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(`${here}/rules`) ? here : dirname(here);
}

async function build(logger: Logger, env: Readonly<Record<string, string | undefined>>): Promise<TriageRuntime> {
  const problems: string[] = [];
  const table = env[ENV.table];
  if (!table) problems.push(`${ENV.table} is not set`);
  const routing = parseRoutingConfig(env[ENV.routing], ENV.routing);
  if (!routing.success) problems.push(routing.error);
  let lists: ReturnType<typeof parseListSpecs> = [];
  try {
    lists = parseListSpecs(env[ENV.reputationLists] ?? "", { baseDir: bundleDir() });
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0 || !routing.success) throw new TriageConfigurationError(`bad configuration: ${problems.join("; ")}`);

  const rulesDir = env[ENV.rulesDir] ?? `${bundleDir()}/rules`;
  const { cache, problem: cacheProblem } = await readRuleCache(rulesDir);
  if (cacheProblem) logger.warn("rule cache not used", { problem: cacheProblem });
  const loaded = await loadRules([rulesDir], cache ? { cache } : {});
  for (const r of loaded) if (!r.success) logger.error("rule not loaded", { file: r.file, errors: r.errors.map((e) => e.message) });
  const rules = ruleContexts(loaded.flatMap((r) => (r.success ? [r.rule] : [])));

  // A missing or broken provider secret degrades reputation to the offline lists; it never stops
  // triage (the card goes out with "unknown").
  let keys = null;
  const secretId = env[ENV.reputationSecretId];
  if (secretId) {
    try {
      keys = await loadProviderKeys(secretId);
    } catch (err) {
      logger.error("reputation keys unavailable", { secretId, error: (err as Error).message });
    }
  }
  const s3 = s3ObjectReader(s3ClientFromEnv(env));
  const { providers } = createReputationProviders({ keys, lists, listSources: { objects: s3 } });

  const store = new DynamoDbItemStore({ client: new DynamoDBClient({ maxAttempts: 1 }), tableName: table! });
  const sqs = new SQSClient({});
  const ticketUrl = env[ENV.ticketQueueUrl];
  const slackUrl = env[ENV.slackQueueUrl];
  return {
    store, rules, providers, sqs,
    dispatch: {
      store, routing: routing.data,
      ticket: ticketUrl ? sqsTicketOutput(sqs, ticketUrl) : null,
      slack: slackUrl ? sqsSlackOutput(sqs, slackUrl) : null,
    },
  };
}

/** Triage of one alert (or its retraction): result, store, route, ticket, Slack job. */
export async function triageAlert(rt: TriageRuntime, record: AlertRecord, nowMs: number, logger: Logger): Promise<DispatchOutcome> {
  const result = await buildTriageResult(record.alert, rt.rules.get(record.alert.rule.id) ?? null, {
    providers: rt.providers, cache: reputationCache(rt.store), nowMs,
    onWarning: (message, cause) => logger.warn(message, { alertId: record.alert.id, cause: cause instanceof Error ? cause.message : cause }),
  });
  const outcome = await dispatchTriage(result, rt.dispatch, record.expiresAt !== null ? { expiresAt: record.expiresAt } : {});
  logger.info("triaged", { alertId: record.alert.id, ruleId: record.alert.rule.id, status: record.alert.status, verdict: result.verdict.verdict, outcome });
  return outcome;
}
