/**
 * The detect Lambda: one SQS batch of the events queue, processed as one unit
 * (lib/detect/sqs-batch.ts), answered with a partial batch response.
 */
import "./zod-jitless.js"; // first: see the module
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { SqsSchema } from "@aws-lambda-powertools/parser/schemas/sqs";
import type { SqsEvent } from "@aws-lambda-powertools/parser/types";
import type { SQSBatchResponse } from "aws-lambda";
import { processSqsBatch, type SqsBatchResult } from "../lib/detect/sqs-batch.js";
import { detectRuntime, logger, metrics } from "./detect-runtime.js";

async function detect(event: SqsEvent): Promise<SQSBatchResponse> {
  const rt = await detectRuntime();
  const records = event.Records.map((r) => ({ messageId: r.messageId, body: r.body }));
  const result = await processSqsBatch({ detect: rt.detect, rejected: rt.rejected, s3: rt.s3, ingest: rt.ingest }, records, Date.now());
  report(result);
  return { batchItemFailures: result.batchItemFailures };
}

function report(result: SqsBatchResult): void {
  const s = result.outcome.stats;
  metrics.addMetric("EventsIn", MetricUnit.Count, result.accepted + Object.values(result.rejectedByReason).reduce((a, b) => a + b, 0));
  metrics.addMetric("Rejected", MetricUnit.Count, Object.values(result.rejectedByReason).reduce((a, b) => a + b, 0));
  metrics.addMetric("Candidates", MetricUnit.Count, s.candidates);
  metrics.addMetric("Alerts", MetricUnit.Count, s.alerts);
  metrics.addMetric("Retracted", MetricUnit.Count, s.retracted);
  metrics.addMetric("Suppressed", MetricUnit.Count, s.suppressed);
  metrics.addMetric("Capped", MetricUnit.Count, s.capped);
  metrics.addMetric("Excepted", MetricUnit.Count, s.excepted);
  metrics.addMetric("LateEvents", MetricUnit.Count, s.late);
  metrics.addMetric("PartitionOverflows", MetricUnit.Count, s.partitionOverflows);
  metrics.addMetric("TooManyJoinKeys", MetricUnit.Count, s.tooManyJoinKeys);
  metrics.addMetric("FailedMessages", MetricUnit.Count, result.batchItemFailures.length);
  for (const lag of result.alertLagMs) metrics.addMetric("AlertLagMs", MetricUnit.Milliseconds, lag);
  // Reasons are a closed set of a dozen codes: a dimension per reason stays cheap.
  for (const [reason, n] of Object.entries(result.rejectedByReason)) {
    const single = metrics.singleMetric();
    single.addDimension("Reason", reason);
    single.addMetric("RejectedByReason", MetricUnit.Count, n);
  }
  // Per-rule facts go to logs, not metric dimensions (a thousand rules times N metrics costs money).
  for (const a of result.outcome.alerts) logger.info("alert", { alertId: a.id, ruleId: a.rule.id, rule: a.rule.name, severity: a.rule.severity, firstSeen: a.first_seen, lastSeen: a.last_seen });
  for (const a of result.outcome.retracted) logger.info("alert retracted", { alertId: a.id, ruleId: a.rule.id });
  for (const f of result.failures) logger.warn("message failed", { messageId: f.messageId, cause: f.cause, error: f.error });
  logger.info("batch", { records: result.records, accepted: result.accepted, rejected: result.rejectedByReason, stats: s, failed: result.batchItemFailures.length });
}

export const handler = middy(detect)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(parser({ schema: SqsSchema }));
