/**
 * The environment variables the stack sets and the Lambda functions read: the one contract between
 * `lib/infra` and `functions/`. Constants only (no CDK import), so the function bundles can import
 * it without pulling in aws-cdk-lib. Secrets are never in here: only the secret's name or ARN.
 */
export const ENV = {
  /** The state/alert table (DESIGN.md "DynamoDB"). */
  table: "STATE_TABLE",
  /** Queue URL for events rejected by ingest (reason as a message attribute). */
  rejectedQueueUrl: "REJECTED_QUEUE_URL",
  /** Folder of rule TOML files; default: the `rules/` folder bundled next to the handler. */
  rulesDir: "RULES_DIR",
  /** Allowed lateness in seconds (default 900). */
  allowedLatenessSeconds: "ALLOWED_LATENESS_SECONDS",
  /** Maximum accepted future skew of event timestamps in seconds (default 300). */
  maxFutureSkewSeconds: "MAX_FUTURE_SKEW_SECONDS",
  /** Whether events without data_stream fields match every rule (default "true"). */
  matchEventsWithoutDataStream: "MATCH_EVENTS_WITHOUT_DATA_STREAM",
  /** SOC ticket queue URL (standard or FIFO, detected by the `.fifo` suffix); unset = no tickets. */
  ticketQueueUrl: "TICKET_QUEUE_URL",
  /** Slack delivery queue URL (triage enqueues, deliver-slack consumes); unset = no Slack. */
  slackQueueUrl: "SLACK_QUEUE_URL",
  /** Secrets Manager name or ARN of the Slack secret: JSON `{"webhookUrl"}` or `{"botToken","channel"}`. */
  slackSecretId: "SLACK_SECRET_ID",
  /** Secrets Manager name or ARN of the provider keys: JSON `{"abuseipdb"?: key, "greynoise"?: key}`. */
  reputationSecretId: "REPUTATION_SECRET_ID",
  /** Offline reputation lists: comma-separated `s3://bucket/key` URIs or paths in the bundle. */
  reputationLists: "REPUTATION_LISTS",
  /** Routing as JSON (see lib/deliver routing); default: every non-building-block alert to every output. */
  routing: "ROUTING",
  /** Alerts per rule per minute beyond which Slack gets a digest instead of cards. */
  slackDigestThreshold: "SLACK_DIGEST_THRESHOLD",
  /** The SQS DLQ of the Slack queue, for `triage redrive`. */
  slackDlqUrl: "SLACK_DLQ_URL",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
