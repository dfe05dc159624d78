/**
 * The triage Lambda, on the table's stream (filtered by the event source to alert inserts and
 * retractions; the handler applies the same filter itself). Records are handled in order; the
 * first failure is reported by its sequence number, so Lambda retries from there (with
 * bisect-on-error and an on-failure destination in the stack) and nothing before it repeats.
 */
import "./zod-jitless.js"; // first: see the module
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { alertRecord } from "../lib/deliver/retriage.js";
import { isTriageStreamRecord, type StreamRecordLike } from "../lib/triage/stream-filter.js";
import { logger, metrics } from "./observability.js";
import { triageAlert, triageRuntime } from "./triage-runtime.js";

async function triage(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  if (!Array.isArray(event?.Records)) throw new Error("not a DynamoDB stream event: no Records array");
  const rt = await triageRuntime(logger);
  let triaged = 0;
  let ignored = 0;
  for (const record of event.Records) {
    const trigger = isTriageStreamRecord(record as StreamRecordLike);
    if (trigger === null) {
      ignored++;
      continue;
    }
    try {
      const image = unmarshall(record.dynamodb!.NewImage as Record<string, AttributeValue>);
      const outcome = await triageAlert(rt, alertRecord(image), Date.now(), logger);
      triaged++;
      if (outcome.kind === "skipped") metrics.addMetric("TriageSkipped", MetricUnit.Count, 1);
    } catch (err) {
      logger.error("triage failed", { sequenceNumber: record.dynamodb?.SequenceNumber, error: err instanceof Error ? err.message : String(err) });
      metrics.addMetric("TriageFailures", MetricUnit.Count, 1);
      metrics.addMetric("Triaged", MetricUnit.Count, triaged);
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? "" }] };
    }
  }
  metrics.addMetric("Triaged", MetricUnit.Count, triaged);
  metrics.addMetric("StreamRecordsIgnored", MetricUnit.Count, ignored);
  return { batchItemFailures: [] };
}

export const handler = middy(triage)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
