/**
 * The deployment configuration: one typed object, read from the CDK context (`cdk.json` "context",
 * `cdk deploy -c key=value`) and optionally from a JSON file the context names (`-c config=prod.json`).
 * Every key has a documented default (`CONFIG_DEFAULTS`, docs/deploy.md), so a deployment changes
 * configuration, never code.
 *
 * Precedence: defaults < the config file < context keys. Context values given with `-c` arrive as
 * strings, so numbers, booleans, lists and JSON are accepted in their string form too.
 *
 * A bad configuration fails synth before any construct exists, with one `ConfigError` that names
 * every bad field (STYLE.md: all conflicts reported at once).
 *
 * No aws-cdk-lib import here: this module is pure and cheap to test.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { RoutingConfigSchema } from "../deliver/routing.js";

// ---- value parsers that accept the string form `-c key=value` gives ------------------------------

/** "12" -> 12; anything else is left for the number schema to reject with a message. */
function numberFromString(v: unknown): unknown {
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return v;
}

function booleanFromString(v: unknown): unknown {
  if (v === "true") return true;
  if (v === "false") return false;
  return v;
}

/** "a,b" -> ["a","b"]; "" -> []; a JSON array string -> the array. */
function listFromString(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (t === "") return [];
  if (t.startsWith("[")) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return v;
    }
  }
  return t.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** A JSON object given as a string (the routing table on the command line). */
function objectFromString(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v; // the object schema reports it
  }
}

/** An absent value: key missing, or given as "" (e.g. `-c slackSecret=` to unset a cdk.json value). */
function emptyToUndefined(v: unknown): unknown {
  return v === "" || v === null ? undefined : v;
}

const int = (min: number, max: number) =>
  z.preprocess(
    numberFromString,
    z.number({ error: "must be a number" }).int({ error: "must be a whole number" })
      .min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }),
  );

const bool = () => z.preprocess(booleanFromString, z.boolean({ error: 'must be true or false' }));

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());

// ---- identifiers ---------------------------------------------------------------------------------

const PARTITION = "aws(?:-[a-z]+)*";
const SECRET_ARN = new RegExp(`^arn:${PARTITION}:secretsmanager:[a-z0-9-]+:\\d{12}:secret:[A-Za-z0-9/_+=.@-]+$`);
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+$`);
const SQS_ARN = new RegExp(`^arn:${PARTITION}:sqs:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,75}(\\.fifo)?$`);
const SNS_ARN = new RegExp(`^arn:${PARTITION}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$`);
const S3_BUCKET_ARN = new RegExp(`^arn:${PARTITION}:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`);
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** An IAM role or user, or a whole account (`arn:aws:iam::123456789012:root`) that may send events. */
const PRINCIPAL_ARN = new RegExp(`^arn:${PARTITION}:iam::\\d{12}:(root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$`);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;
/** A path inside the bundled `lists/` folder (copied next to the triage handler). */
const BUNDLED_LIST = /^lists\/[A-Za-z0-9._/-]+$/;
const SCHEDULE = /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/;
/** CloudFormation stack names. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const secretRef = () =>
  optional(z.string().refine((s) => SECRET_ARN.test(s) || (!s.startsWith("arn:") && SECRET_NAME.test(s)), {
    error: "must be a Secrets Manager secret name or ARN",
  }));
const kmsKeyArn = () => optional(z.string().regex(KMS_KEY_ARN, { error: "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)" }));

// ---- the schema ----------------------------------------------------------------------------------

/**
 * Every key, its type and its default. The comment on each key is the documentation
 * (docs/deploy.md repeats the table); the reason for a default is given where it is not obvious.
 */
const ConfigObject = z.object({
  /** CloudFormation stack name; also the dashboard name. */
  stackName: z.string().regex(STACK_NAME, { error: "must be a CloudFormation stack name (letters, digits, hyphens; starts with a letter)" }).default("EqlStreamTriage"),
  /** What happens to the table, queues and log groups when the stack is deleted: "retain" keeps the alert history. */
  removalPolicy: z.enum(["retain", "destroy"], { error: 'must be "retain" or "destroy"' }).default("retain"),
  /** Days each function's log group keeps logs. */
  logRetentionDays: z.preprocess(numberFromString, z.number().refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
    error: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
  })).default(30),
  /** Powertools log level of every function. */
  logLevel: z.enum(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"], { error: "must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT" }).default("INFO"),
  /** CloudWatch namespace of the pipeline metrics (Powertools EMF), read by the dashboard. */
  metricsNamespace: z.string().regex(/^[A-Za-z0-9._/#:-]{1,255}$/, { error: "must be a CloudWatch namespace" }).default("EqlStreamTriage"),

  // -- events queue and the detect function --
  /**
   * Encryption of the events queue. "sqs-managed" (SSE-SQS) admits S3 notifications and
   * cross-account forwarders with no key policy to maintain; "customer-managed" creates a KMS key
   * whose policy admits S3 and the `forwarderPrincipals`. (The AWS-managed `aws/sqs` key is not
   * offered: S3 cannot send to a queue encrypted with it.)
   */
  eventsQueueKms: z.enum(["sqs-managed", "customer-managed"], { error: 'must be "sqs-managed" or "customer-managed"' }).default("sqs-managed"),
  /** IAM roles, users or account roots (ARNs) allowed to send to the events queue (forwarders in other accounts, or whose policies you do not manage). */
  forwarderPrincipals: z.preprocess(listFromString, z.array(z.string().regex(PRINCIPAL_ARN, { error: "must be an IAM role, user or account-root ARN" }))).default([]),
  /**
   * Messages per detect invocation. 100: a batch is processed as one unit, so a bigger batch
   * amortises the per-partition reads, but it is also the unit of redelivery and must stay under
   * Lambda's 6 MB invocation payload (100 messages of NDJSON forwarder batches is already MBs).
   */
  eventsBatchSize: int(1, 10_000).default(100),
  /** Seconds the event source waits to fill a batch (SQS requires >= 1 when the batch size exceeds 10). */
  eventsBatchingWindowSeconds: int(0, 300).default(5),
  /** Receives before a message moves to the events DLQ. */
  eventsMaxReceiveCount: int(1, 1000).default(5),
  /** Days the events queue keeps an unprocessed message (SQS allows 1 to 14). */
  eventsRetentionDays: int(1, 14).default(4),
  /** Concurrent detect invocations the event source may run (SQS event sources allow 2 to 1000). */
  detectMaxConcurrency: int(2, 1000).default(10),
  /** Detect (and sweep) timeout; the events queue's visibility timeout is 6x this plus the batching window. */
  detectTimeoutSeconds: int(1, 900).default(60),
  /** Detect and sweep memory; CPU scales with it, and compiling ~1,000 rules wants more than the minimum. */
  detectMemoryMb: int(128, 10_240).default(1024),
  /** How late a partner event may still complete a sequence (DESIGN.md "Events: time, identity, scope"). */
  allowedLatenessSeconds: int(0, 86_400).default(900),
  /** Events stamped further in the future than this are rejected (`timestamp_in_future`). */
  maxFutureSkewSeconds: int(0, 86_400).default(300),
  /** Whether events without data_stream fields match every rule's index patterns. */
  matchEventsWithoutDataStream: bool().default(true),

  // -- optional S3 ingest --
  /** Existing bucket (name or ARN) whose object-created notifications go to the events queue; detect alone may read it. */
  ingestBucket: optional(z.string().refine((s) => S3_BUCKET_ARN.test(s) || S3_BUCKET_NAME.test(s), { error: "must be an S3 bucket name or ARN" })),
  /** KMS key of the ingest bucket's objects (SSE-KMS), for detect's decrypt grant. */
  ingestBucketKmsKeyArn: kmsKeyArn(),
  /** Only objects under this key prefix notify (e.g. a Firehose prefix). */
  ingestPrefix: optional(z.string().max(1024)),
  /** Only objects with this key suffix notify (e.g. ".gz"). */
  ingestSuffix: optional(z.string().max(1024)),

  // -- triage on the table's stream --
  /** Stream records per triage invocation (each alert may call reputation providers). */
  triageBatchSize: int(1, 10_000).default(10),
  /** Retries of a failing stream batch (halved by bisect-on-error each time) before its records go to the on-failure queue. */
  triageRetryAttempts: int(0, 10_000).default(5),
  /** Oldest stream record triage still processes; older ones go to the on-failure queue (the sweep re-triages pending alerts). */
  triageMaxRecordAgeSeconds: int(60, 604_800).default(3600),
  triageTimeoutSeconds: int(1, 900).default(60),
  triageMemoryMb: int(128, 10_240).default(512),

  // -- deliveries --
  /** Secrets Manager secret (name or ARN) with `{"webhookUrl"}` or `{"botToken","channel"}`; unset = no Slack delivery. */
  slackSecret: secretRef(),
  /** Concurrent deliver-slack invocations (event-source maxConcurrency; 2 is the SQS minimum and keeps Slack's rate limits). */
  slackMaxConcurrency: int(2, 1000).default(2),
  /** Alerts per rule per minute beyond which Slack gets a digest; unset = the function's default. */
  slackDigestThreshold: optional(int(1, 10_000)),
  /** Secrets Manager secret (name or ARN) with the reputation provider keys `{"abuseipdb"?, "greynoise"?}`; unset = offline lists only. */
  reputationSecret: secretRef(),
  /** Offline reputation lists: `s3://bucket/key` objects (triage gets read access to exactly those) or `lists/...` files bundled from the repository's `lists/` folder. */
  reputationLists: z.preprocess(listFromString, z.array(z.string().refine((s) => S3_URI.test(s) || BUNDLED_LIST.test(s), {
    error: 'each entry must be "s3://bucket/key" or a path under the bundled "lists/" folder',
  }))).default([]),
  /** KMS key of the Slack/reputation secrets when they are not encrypted with the default `aws/secretsmanager` key. */
  secretsKmsKeyArn: kmsKeyArn(),
  /**
   * The SOC ticket queue: "none", "create" (standard queue with a DLQ), "create-fifo" (FIFO: the
   * ticket's dedup key becomes MessageDeduplicationId), or the ARN of an existing queue.
   */
  ticketQueue: z.string().refine((s) => s === "none" || s === "create" || s === "create-fifo" || SQS_ARN.test(s), {
    error: 'must be "none", "create", "create-fifo" or an SQS queue ARN',
  }).default("create"),
  /** KMS key of an imported ticket queue (SSE-KMS with a customer key), for triage's send grant. */
  ticketQueueKmsKeyArn: kmsKeyArn(),
  /**
   * Routing by severity, risk score, tags and rule ids (lib/deliver/routing.ts, validated here so
   * that a bad routing fails synth, not the first alert); unset = every non-building-block alert
   * to every output.
   */
  routing: optional(z.preprocess(objectFromString, RoutingConfigSchema)),
  /** EventBridge schedule of the sweep (timers of missing-event stages, pending triage). */
  sweepSchedule: z.string().regex(SCHEDULE, { error: 'must be an EventBridge schedule expression, e.g. "rate(1 minute)" or "cron(0/5 * * * ? *)"' }).default("rate(1 minute)"),

  // -- operations --
  /** Where alarms notify: an email address (a topic is created and subscribed) or an SNS topic ARN; unset = alarms without actions. */
  alarmTopic: optional(z.string().refine((s) => SNS_ARN.test(s) || EMAIL.test(s), { error: "must be an email address or an SNS topic ARN" })),
  /** Rejected events per 5 minutes above which the rejected-events alarm fires. */
  rejectedAlarmThreshold: int(0, 10_000_000).default(100),
  /** Age in seconds of the oldest message on the events queue that raises an alarm (detect falling behind). */
  eventsAgeAlarmSeconds: int(60, 1_209_600).default(300),
  /** Triage's stream iterator age in seconds that raises an alarm (alerts waiting for triage). */
  iteratorAgeAlarmSeconds: int(1, 86_400).default(120),
}).strict();

type ConfigValues = z.output<typeof ConfigObject>;

/**
 * Rules that involve several keys, each reported on the key to change. They run on whichever keys
 * are valid on their own, so a bad key elsewhere never hides them.
 */
function crossFieldProblems(c: Partial<ConfigValues>, has: (k: keyof ConfigValues) => boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const both = (...keys: (keyof ConfigValues)[]) => keys.every(has);
  if (both("eventsBatchSize", "eventsBatchingWindowSeconds") && c.eventsBatchSize! > 10 && c.eventsBatchingWindowSeconds! < 1) {
    out.push({ field: "eventsBatchingWindowSeconds", message: `must be at least 1 when eventsBatchSize (${c.eventsBatchSize}) is above 10 (an SQS event source rule)` });
  }
  if (both("detectTimeoutSeconds", "eventsBatchingWindowSeconds")) {
    // SQS caps the visibility timeout at 12 hours.
    const visibility = 6 * c.detectTimeoutSeconds! + c.eventsBatchingWindowSeconds!;
    if (visibility > 43_200) {
      out.push({ field: "detectTimeoutSeconds", message: `6 x detectTimeoutSeconds + eventsBatchingWindowSeconds = ${visibility} s exceeds the 43,200 s SQS visibility timeout limit` });
    }
  }
  for (const k of ["ingestBucketKmsKeyArn", "ingestPrefix", "ingestSuffix"] as const) {
    if (has(k) && c[k] !== undefined && has("ingestBucket") && c.ingestBucket === undefined) out.push({ field: k, message: "is set but ingestBucket is not" });
  }
  if (both("ticketQueueKmsKeyArn", "ticketQueue") && c.ticketQueueKmsKeyArn !== undefined && !c.ticketQueue!.startsWith("arn:")) {
    out.push({ field: "ticketQueueKmsKeyArn", message: "only applies to an imported ticket queue (ticketQueue = an ARN)" });
  }
  if (both("secretsKmsKeyArn", "slackSecret", "reputationSecret") && c.secretsKmsKeyArn !== undefined && c.slackSecret === undefined && c.reputationSecret === undefined) {
    out.push({ field: "secretsKmsKeyArn", message: "is set but neither slackSecret nor reputationSecret is" });
  }
  return out;
}

/** The whole schema (types and defaults); `loadConfig` validates key by key to report everything at once. */
export const ConfigSchema = ConfigObject.superRefine((c, ctx) => {
  for (const p of crossFieldProblems(c, () => true)) ctx.addIssue({ code: "custom", path: [p.field], message: p.message });
});

export type PipelineConfig = Readonly<z.output<typeof ConfigSchema>>;
export type ConfigKey = keyof PipelineConfig;

/** The documented defaults: the configuration of an empty context. */
export function configDefaults(): PipelineConfig {
  return ConfigSchema.parse({});
}

// ---- errors --------------------------------------------------------------------------------------

export interface ConfigProblem {
  /** The configuration key (or "config" for the file itself). */
  readonly field: string;
  readonly message: string;
}

/** Every problem of a configuration, in one message: `invalid configuration (2 problems): ...`. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: ErrorOptions) {
    const lines = problems.map((p) => `  - ${p.field}: ${p.message}`);
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`, options);
    this.problems = problems;
  }
}

// ---- loading -------------------------------------------------------------------------------------

/** The keys the schema knows, for spotting typos among context keys. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ConfigObject.shape);

/**
 * Context keys that belong to the CDK or its CLI rather than to us: namespaced (`@aws-cdk/...`,
 * `aws:cdk:...`, lookups like `availability-zones:...`) or dashed (`acknowledged-issue-numbers`).
 * Ours are all plain camelCase, so a plain camelCase key we do not know is a typo.
 */
function looksLikeOurs(key: string): boolean {
  return /^[a-z][A-Za-z0-9]*$/.test(key);
}

/** The context key that names a JSON configuration file. */
export const CONFIG_FILE_KEY = "config";

export interface LoadConfigOptions {
  /** Resolves a relative config file path. @default process.cwd() */
  readonly cwd?: string;
  /** Reads the config file. @default fs.readFileSync as UTF-8 */
  readonly readFile?: (path: string) => string;
}

/**
 * The configuration from the CDK context (`app.node.getAllContext()`): validated, defaults
 * applied. Throws one ConfigError naming every bad field.
 */
export function loadConfig(context: Readonly<Record<string, unknown>>, options: LoadConfigOptions = {}): PipelineConfig {
  const problems: ConfigProblem[] = [];
  const fromContext: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) {
    if (k === CONFIG_FILE_KEY || !looksLikeOurs(k)) continue;
    if (!CONFIG_KEYS.includes(k)) {
      problems.push({ field: k, message: `unknown configuration key${suggest(k)}` });
      continue;
    }
    fromContext[k] = v;
  }

  let fromFile: Record<string, unknown> = {};
  const file = context[CONFIG_FILE_KEY];
  if (file !== undefined && file !== "") {
    if (typeof file !== "string") problems.push({ field: CONFIG_FILE_KEY, message: "must be the path of a JSON file" });
    else {
      const path = resolve(options.cwd ?? process.cwd(), file);
      try {
        const parsed = JSON.parse((options.readFile ?? ((p: string) => readFileSync(p, "utf8")))(path)) as unknown;
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          problems.push({ field: CONFIG_FILE_KEY, message: `${file} must hold a JSON object` });
        } else {
          fromFile = parsed as Record<string, unknown>;
          for (const k of Object.keys(fromFile)) {
            if (!CONFIG_KEYS.includes(k)) problems.push({ field: k, message: `unknown configuration key in ${file}${suggest(k)}` });
          }
          fromFile = Object.fromEntries(Object.entries(fromFile).filter(([k]) => CONFIG_KEYS.includes(k)));
        }
      } catch (err) {
        problems.push({ field: CONFIG_FILE_KEY, message: `cannot read ${file}: ${(err as Error).message}` });
      }
    }
  }

  const merged: Record<string, unknown> = { ...fromFile, ...fromContext };
  // Key by key, so that every bad key is reported, then the cross-field rules on the good ones.
  const values: Record<string, unknown> = {};
  const valid = new Set<string>();
  const shape = ConfigObject.shape as Record<string, z.ZodType>;
  for (const key of CONFIG_KEYS) {
    const r = shape[key]!.safeParse(merged[key]);
    if (r.success) {
      values[key] = r.data;
      valid.add(key);
      continue;
    }
    const issue = r.error.issues[0]!; // one line per key: the first problem is the one to fix
    const field = [key, ...issue.path.map(String)].join(".");
    const given = issue.path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined), merged[key]);
    problems.push({ field, message: `${issue.message}${given === undefined ? "" : ` (got ${JSON.stringify(given)})`}` });
  }
  problems.push(...crossFieldProblems(values as Partial<ConfigValues>, (k) => valid.has(k)));
  if (problems.length > 0) throw new ConfigError(problems);
  return ConfigSchema.parse(values);
}

/** " (did you mean x?)" for a key one small edit away from a known key. */
function suggest(key: string): string {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of CONFIG_KEYS) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best === null ? "" : ` (did you mean ${best}?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
