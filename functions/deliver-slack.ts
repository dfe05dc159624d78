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
import { ChangeMessageVisibilityCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse } from "aws-lambda";
import { digestLimitFromEnv, SlackJobSchema } from "../lib/deliver/digest.js";
import { deliverSlackJob, type SlackDeliveryDeps } from "../lib/deliver/slack-delivery.js";
import { ENV } from "../lib/infra/env.js";
import { loadSlackTarget } from "../lib/deliver/slack-secret.js";
import { logger, metrics } from "./observability.js";
import { triageRuntime } from "./triage-runtime.js";

let deps: Promise<SlackDeliveryDeps> | null = null;

function slackDeps(): Promise<SlackDeliveryDeps> {
  deps ??= (async (): Promise<SlackDeliveryDeps> => {
    const rt = await triageRuntime(logger);
    const secretId = process.env[ENV.slackSecretId];
    const queueUrl = process.env[ENV.slackQueueUrl];
    if (!secretId || !queueUrl) throw new Error(`bad configuration: ${ENV.slackSecretId} and ${ENV.slackQueueUrl} must be set`);
    const target = await loadSlackTarget(secretId);
    return {
      store: rt.store, target,
      digest: { limit: digestLimitFromEnv(process.env[ENV.slackDigestThreshold]) },
      scheduleDigest: async (job, delaySeconds) => {
        await rt.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job), DelaySeconds: delaySeconds }));
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
  const rt = await triageRuntime(logger);
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
        await rt.sqs.send(new ChangeMessageVisibilityCommand({
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
