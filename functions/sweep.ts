/**
 * The sweep Lambda (every minute, EventBridge): evaluates partitions whose timers are due, i.e.
 * matches waiting for a trailing missing-event stage to close (lib/detect/sweep.ts), then
 * re-triages alerts and retractions that the stream did not get to triage (lib/deliver/retriage.ts).
 */
import "./zod-jitless.js"; // first: see the module
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { retriageDue } from "../lib/deliver/retriage.js";
import { runSweep } from "../lib/detect/sweep.js";
import { detectRuntime, logger, metrics } from "./detect-runtime.js";
import { triageAlert, triageRuntime } from "./triage-runtime.js";

export interface SweepResponse {
  readonly fromMinute: number;
  readonly nextMinute: number;
  readonly alerts: number;
  readonly retriaged: number;
  readonly failures: number;
}

async function sweep(): Promise<SweepResponse> {
  const rt = await detectRuntime(process.env, "sweep");
  const result = await runSweep(rt.detect, Date.now());
  metrics.addMetric("Alerts", MetricUnit.Count, result.stats.alerts);
  for (const a of result.alerts) logger.info("alert", { alertId: a.id, ruleId: a.rule.id, rule: a.rule.name, source: "sweep" });
  for (const f of result.failures) logger.error("timer failed", { partition: f.partition, ruleId: f.ruleId, error: f.error });

  const tr = await triageRuntime(logger);
  const retriage = await retriageDue(tr.store, Date.now(), async (record) => void (await triageAlert(tr, record, Date.now(), logger)));
  for (const f of retriage.failures) logger.error("re-triage failed", f);
  metrics.addMetric("Retriaged", MetricUnit.Count, retriage.retriaged);
  metrics.addMetric("SweepFailures", MetricUnit.Count, result.failures.length + retriage.failures.length);
  return {
    fromMinute: result.fromMinute, nextMinute: result.nextMinute, alerts: result.alerts.length, retriaged: retriage.retriaged,
    failures: result.failures.length + retriage.failures.length,
  };
}

export const handler = middy(sweep)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
