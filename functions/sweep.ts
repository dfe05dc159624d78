/**
 * The sweep Lambda (every minute, EventBridge): evaluates partitions whose timers are due, i.e.
 * matches waiting for a trailing missing-event stage to close (lib/detect/sweep.ts).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { runSweep } from "../lib/detect/sweep.js";
import { detectRuntime, logger, metrics } from "./detect-runtime.js";

export interface SweepResponse {
  readonly fromMinute: number;
  readonly nextMinute: number;
  readonly alerts: number;
  readonly failures: number;
}

async function sweep(): Promise<SweepResponse> {
  const rt = await detectRuntime();
  const result = await runSweep(rt.detect, Date.now());
  metrics.addMetric("Alerts", MetricUnit.Count, result.stats.alerts);
  metrics.addMetric("SweepFailures", MetricUnit.Count, result.failures.length);
  for (const a of result.alerts) logger.info("alert", { alertId: a.id, ruleId: a.rule.id, rule: a.rule.name, source: "sweep" });
  for (const f of result.failures) logger.error("timer failed", { partition: f.partition, ruleId: f.ruleId, error: f.error });
  return { fromMinute: result.fromMinute, nextMinute: result.nextMinute, alerts: result.alerts.length, failures: result.failures.length };
}

export const handler = middy(sweep)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
