/** Powertools logger and metrics shared by the function entries (one per container). */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

// The stack sets POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE; these are the defaults.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? "eql-stream-triage";
export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "EqlStreamTriage", serviceName });
