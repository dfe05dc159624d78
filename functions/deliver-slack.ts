/**
 * The deliver-slack Lambda, on the Slack delivery queue (small event-source maximum concurrency,
 * so Slack's rate limits are met by waiting, not by throttling the poller into the DLQ). Each job
 * is one card, follow-up or digest (lib/deliver/slack-delivery.ts). A job to retry stays on the
 * queue with its visibility set to Slack's Retry-After; a permanent failure is retried until the
 * queue's redrive policy moves it to the DLQ (`triage redrive` brings it back).
 */
import "./zod-jitless.js"; // first: see the module
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { SqsSchema } from "@aws-lambda-powertools/parser/schemas/sqs";
import type { SqsEvent } from "@aws-lambda-powertools/parser/types";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import { digestLimitFromEnv, SlackJobSchema } from "../lib/deliver/digest.js";
import { deliverSlackJob, type SlackDeliveryDeps } from "../lib/deliver/slack-delivery.js";
import { ENV } from "../lib/infra/env.js";
import { loadSlackTarget } from "../lib/deliver/slack-secret.js";
import { DynamoDbItemStore } from "../lib/store/dynamodb.js";
import { logger, metrics } from "./observability.js";

let deps: Promise<SlackDeliveryDeps & { readonly sqs: SQSClient }> | null = null;

/**
 * What a delivery needs: the table (the stored triage result, leases and marks), the Slack target
 * from Secrets Manager, and the queue. Nothing of triage (rules, reputation): the card is built
 * from the stored result.
 */
function slackDeps(): Promise<SlackDeliveryDeps & { readonly sqs: SQSClient }> {
  deps ??= (async (): Promise<SlackDeliveryDeps & { readonly sqs: SQSClient }> => {
    const table = process.env[ENV.table];
    const secretId = process.env[ENV.slackSecretId];
    const queueUrl = process.env[ENV.slackQueueUrl];
    if (!table || !secretId || !queueUrl) throw new Error(`bad configuration: ${ENV.table}, ${ENV.slackSecretId} and ${ENV.slackQueueUrl} must be set`);
    const target = await loadSlackTarget(secretId);
    // The store adapter retries throttling itself, with jitter (as in the other functions).
    const store = new DynamoDbItemStore({ client: new DynamoDBClient({ maxAttempts: 1 }), tableName: table });
    const sqs = new SQSClient({});
    return {
      store, target, sqs,
      digest: { limit: digestLimitFromEnv(process.env[ENV.slackDigestThreshold]) },
      scheduleDigest: async (job, delaySeconds) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job), DelaySeconds: delaySeconds }));
      },
    };
  })().catch((err: unknown) => {
    deps = null;
    throw err;
  });
  return deps;
}

async function deliver(event: SqsEvent): Promise<SQSBatchResponse> {
  const d = await slackDeps();
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    let job;
    try {
      job = SlackJobSchema.parse(JSON.parse(record.body));
    } catch (err) {
      // Not a job this function wrote: retrying cannot help; the DLQ keeps it for a look.
      logger.error("bad Slack job", { messageId: record.messageId, error: err instanceof Error ? err.message : String(err) });
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const outcome = await deliverSlackJob(job, d, record.messageId, Date.now());
      logger.info("slack job", { messageId: record.messageId, job, outcome });
      metrics.addMetric(outcome.kind === "done" ? "SlackDelivered" : outcome.kind === "retry" ? "SlackRetries" : "SlackFailures", MetricUnit.Count, 1);
      if (outcome.kind === "done") continue;
      failures.push({ itemIdentifier: record.messageId });
      if (outcome.kind === "retry") {
        const queueUrl = process.env[ENV.slackQueueUrl]!;
        await d.sqs.send(new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: Math.min(43_200, outcome.retryAfterSeconds),
        })).catch((err: unknown) => logger.warn("could not set the retry delay", { error: err instanceof Error ? err.message : String(err) }));
      }
    } catch (err) {
      logger.error("slack job failed", { messageId: record.messageId, error: err instanceof Error ? err.message : String(err) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

export const handler = middy(deliver)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .use(parser({ schema: SqsSchema }));
