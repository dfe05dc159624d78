/**
 * The deployable pipeline (DESIGN.md "Data flow on AWS"):
 *
 *   forwarders / S3 notifications -> events queue (SSE, DLQ) -> detect -> state table
 *   detect -> rejected-events queue
 *   state table stream (alert inserts, retractions) -> triage -> ticket queue, Slack queue -> deliver-slack
 *   EventBridge schedule -> sweep (timers of missing-event stages)
 *
 * Every value comes from the validated configuration (lib/infra/config.ts); the functions read
 * theirs from environment variables named in lib/infra/env.ts. Grants are written out per function
 * so that each role holds exactly what its code calls (test/infra-stack.test.ts asserts them).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { ArnPrincipal, Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key, type IKey } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Bucket, EventType, type IBucket } from "aws-cdk-lib/aws-s3";
import { SqsDestination } from "aws-cdk-lib/aws-s3-notifications";
import { Secret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Topic, type ITopic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type IQueue, type QueueProps } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { TTL_ATTRIBUTE } from "../store/dynamodb-table.js";
import { ALERT_STREAM_FILTER_PATTERNS } from "../triage/stream-filter.js";
import { BUNDLED_FOLDERS, defaultEntry, FUNCTION_NAMES, LAMBDA_TASK_ROOT, PROJECT_ROOT, type FunctionName } from "./bundling.js";
import { ConfigError, type ConfigProblem, type PipelineConfig } from "./config.js";
import { ENV } from "./env.js";
import { PipelineOperations } from "./operations.js";
import { PipelineFunction } from "./pipeline-function.js";

/**
 * DynamoDB actions per function, from the store calls each code path makes (lib/store/dynamodb.ts):
 * batchPut = BatchWriteItem, query = Query, get = GetItem, update = UpdateItem, transact = PutItem /
 * UpdateItem / ConditionCheckItem (TransactWriteItems has no IAM action of its own), delete = DeleteItem.
 * No function may delete or describe the table, and only the sweep deletes items (its timers).
 */
export const TABLE_ACTIONS: Readonly<Record<FunctionName, readonly string[]>> = {
  // detectBatch: candidate rows, window queries, alert + claim transactions, retractions.
  detect: ["BatchWriteItem", "ConditionCheckItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  // runSweep: the cursor, due timers (deleted once evaluated), the same partition evaluation as
  // detect; then re-triage: the retriage cursor and reminders (deleted once handled) and triage's writes.
  sweep: ["BatchWriteItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  // triage: the alert, its triage result with the pendingTriage flag cleared (one transaction),
  // the reputation cache (get, batchPut).
  triage: ["BatchWriteItem", "ConditionCheckItem", "GetItem", "PutItem", "UpdateItem"],
  // deliver-slack: the stored triage result, the delivery lease and mark, the storm digest
  // (lib/deliver/digest.ts: counter updates and decision transactions).
  "deliver-slack": ["ConditionCheckItem", "GetItem", "PutItem", "UpdateItem"],
};

/** Slack answers 429 with Retry-After during storms; each retry is a receive, so allow more than the default. */
const SLACK_MAX_RECEIVE_COUNT = 10;
/** Failed messages stay long enough to be noticed and redriven. */
const FAILURE_RETENTION = Duration.days(14);

export interface EqlStreamTriageStackProps extends StackProps {
  /** The validated configuration (lib/infra/config.ts `loadConfig`). */
  readonly config: PipelineConfig;
  /** Handler files by function. @default `functions/<name>.ts` in the repository (defaultEntry) */
  readonly entries?: Partial<Readonly<Record<FunctionName, string>>>;
  /** The folder with package-lock.json and the bundled folders (`rules/`, `lists/`). @default the repository root */
  readonly projectRoot?: string;
}

export class EqlStreamTriageStack extends Stack {
  readonly table: TableV2;
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  readonly rejectedQueue: Queue;
  readonly triageFailureQueue: Queue;
  readonly slackQueue: Queue | undefined;
  readonly slackDlq: Queue | undefined;
  readonly ticketQueue: IQueue | undefined;
  readonly ticketDlq: Queue | undefined;
  readonly functions: Readonly<Partial<Record<FunctionName, PipelineFunction>>>;
  readonly operations: PipelineOperations;

  constructor(scope: Construct, id: string, props: EqlStreamTriageStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    // Everything that can be wrong before a construct exists is reported at once.
    const entries = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, props.entries?.[n] ?? defaultEntry(n, projectRoot)])) as Record<FunctionName, string>;
    const problems = stackProblems(cfg, projectRoot, entries);
    if (problems.length > 0) throw new ConfigError(problems);

    const removalPolicy = cfg.removalPolicy === "destroy" ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const secureQueue = (queueId: string, queueProps: QueueProps): Queue =>
      new Queue(this, queueId, { enforceSSL: true, encryption: QueueEncryption.SQS_MANAGED, removalPolicy, ...queueProps });

    // ---- events queue ----
    const eventsKey = cfg.eventsQueueKms === "customer-managed"
      ? new Key(this, "EventsQueueKey", {
        description: "Encrypts the events queue and its DLQ; its policy admits S3 notifications and the configured forwarders",
        enableKeyRotation: true,
        removalPolicy,
      })
      : undefined;
    const eventsEncryption: QueueProps = eventsKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: eventsKey }
      : { encryption: QueueEncryption.SQS_MANAGED };
    this.eventsDlq = secureQueue("EventsDlq", { ...eventsEncryption, retentionPeriod: FAILURE_RETENTION });
    this.eventsQueue = secureQueue("EventsQueue", {
      ...eventsEncryption,
      // AWS: at least six times the function timeout, plus the batching window, so that a batch
      // still being retried by the poller is not redelivered to another invocation.
      visibilityTimeout: Duration.seconds(6 * cfg.detectTimeoutSeconds + cfg.eventsBatchingWindowSeconds),
      retentionPeriod: Duration.days(cfg.eventsRetentionDays),
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: cfg.eventsMaxReceiveCount },
    });
    for (const arn of cfg.forwarderPrincipals) this.eventsQueue.grantSendMessages(new ArnPrincipal(arn));

    // ---- rejected events ----
    // Read by people and `triage` tooling, never by a function: no consumer, so no DLQ.
    this.rejectedQueue = secureQueue("RejectedQueue", { retentionPeriod: FAILURE_RETENTION });
    Validations.of(this.rejectedQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "The rejected-events queue is itself a holding queue (like a DLQ) read by operators; nothing consumes it automatically, so a DLQ behind it would never receive anything.",
    });

    // ---- the state table ----
    this.table = new TableV2(this, "StateTable", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
      // No index: the sweep finds alerts to re-triage through `retriage#<minute>` reminder items
      // (lib/detect/keys.ts), as it finds timers.
    });

    // ---- what triage (and the sweep's re-triage) deliver to: ticket queue, Slack queue, secrets ----
    if (cfg.ticketQueue === "create" || cfg.ticketQueue === "create-fifo") {
      const fifo = cfg.ticketQueue === "create-fifo";
      const fifoProps: QueueProps = fifo ? { fifo: true } : {};
      this.ticketDlq = secureQueue("TicketDlq", { ...fifoProps, retentionPeriod: FAILURE_RETENTION });
      this.ticketQueue = secureQueue("TicketQueue", {
        ...fifoProps,
        ...(fifo ? {
          // Tickets carry their own dedup key (MessageDeduplicationId), and high-throughput FIFO
          // (per message group) keeps one busy rule from holding back the rest.
          contentBasedDeduplication: false,
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        } : {}),
        retentionPeriod: FAILURE_RETENTION,
        deadLetterQueue: { queue: this.ticketDlq, maxReceiveCount: 5 },
      });
    } else if (cfg.ticketQueue !== "none") {
      // The queue's key (if any) is granted below with just what SendMessage needs, rather than
      // through fromQueueAttributes' keyArn, whose grant adds Encrypt and ReEncrypt*.
      this.ticketQueue = Queue.fromQueueAttributes(this, "TicketQueue", { queueArn: cfg.ticketQueue, fifo: cfg.ticketQueue.endsWith(".fifo") });
    }

    let slackSecret: ISecret | undefined;
    if (cfg.slackSecret !== undefined) {
      slackSecret = importSecret(this, "SlackSecret", cfg.slackSecret);
      this.slackDlq = secureQueue("SlackDlq", { retentionPeriod: FAILURE_RETENTION });
      this.slackQueue = secureQueue("SlackQueue", {
        visibilityTimeout: Duration.seconds(6 * 30),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: this.slackDlq, maxReceiveCount: SLACK_MAX_RECEIVE_COUNT },
      });
    }
    const reputationSecret = cfg.reputationSecret !== undefined ? importSecret(this, "ReputationSecret", cfg.reputationSecret) : undefined;
    const secretsKey: IKey | undefined = cfg.secretsKmsKeyArn !== undefined ? Key.fromKeyArn(this, "SecretsKey", cfg.secretsKmsKeyArn) : undefined;

    // Its on-failure destination receives the metadata of records that exhausted their retries
    // (shard, sequence numbers), not the records; the sweep re-triages those alerts from its
    // retriage reminders (lib/deliver/retriage.ts).
    this.triageFailureQueue = secureQueue("TriageFailureQueue", { retentionPeriod: FAILURE_RETENTION });
    Validations.of(this.triageFailureQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "This queue is the on-failure destination of the triage stream event source (a dead-letter destination itself); operators read it, nothing consumes it.",
    });

    // ---- functions ----
    const rulesDir = `${LAMBDA_TASK_ROOT}/rules`;
    const make = (name: FunctionName, constructId: string, extra: { memorySize: number; timeout: Duration; environment: Record<string, string>; description: string }): PipelineFunction =>
      new PipelineFunction(this, constructId, {
        entry: entries[name],
        serviceName: name,
        metricsNamespace: cfg.metricsNamespace,
        logLevel: cfg.logLevel,
        bundledFolders: BUNDLED_FOLDERS[name],
        logRetention: cfg.logRetentionDays as RetentionDays,
        removalPolicy,
        projectRoot,
        ...extra,
      });
    const detectEnvironment = {
      [ENV.table]: this.table.tableName,
      [ENV.rejectedQueueUrl]: this.rejectedQueue.queueUrl,
      [ENV.rulesDir]: rulesDir,
      [ENV.allowedLatenessSeconds]: String(cfg.allowedLatenessSeconds),
      [ENV.maxFutureSkewSeconds]: String(cfg.maxFutureSkewSeconds),
      [ENV.matchEventsWithoutDataStream]: String(cfg.matchEventsWithoutDataStream),
    };
    // Triage runs in two places: triage on the stream, and the sweep's re-triage of alerts the
    // stream did not get to. Both get the same outputs, secrets and lists.
    const triageEnvironment = {
      [ENV.table]: this.table.tableName,
      [ENV.rulesDir]: rulesDir,
      ...(this.ticketQueue ? { [ENV.ticketQueueUrl]: this.ticketQueue.queueUrl } : {}),
      ...(this.slackQueue ? { [ENV.slackQueueUrl]: this.slackQueue.queueUrl } : {}),
      ...(cfg.reputationSecret !== undefined ? { [ENV.reputationSecretId]: cfg.reputationSecret } : {}),
      ...(cfg.reputationLists.length > 0 ? { [ENV.reputationLists]: cfg.reputationLists.join(",") } : {}),
      ...(cfg.routing !== undefined ? { [ENV.routing]: JSON.stringify(cfg.routing) } : {}),
    };
    const listObjects = cfg.reputationLists.filter((l) => l.startsWith("s3://")).map((uri) => {
      const [, , bucket, ...key] = uri.split("/");
      return this.formatArn({ service: "s3", region: "", account: "", resource: bucket!, resourceName: key.join("/"), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    });
    const grantTriageOutputs = (f: PipelineFunction): void => {
      this.ticketQueue?.grantSendMessages(f.fn);
      if (cfg.ticketQueueKmsKeyArn !== undefined) {
        // SendMessage to an SSE-KMS queue: a data key, and Decrypt to use a cached one.
        f.role.addToPrincipalPolicy(new PolicyStatement({ actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [cfg.ticketQueueKmsKeyArn] }));
      }
      this.slackQueue?.grantSendMessages(f.fn);
      if (reputationSecret) reputationSecret.grantRead(f.fn);
      if (reputationSecret && secretsKey) secretsKey.grantDecrypt(f.fn);
      if (listObjects.length > 0) f.role.addToPrincipalPolicy(new PolicyStatement({ actions: ["s3:GetObject"], resources: listObjects }));
    };

    const detect = make("detect", "Detect", {
      memorySize: cfg.detectMemoryMb,
      timeout: Duration.seconds(cfg.detectTimeoutSeconds),
      environment: detectEnvironment,
      description: "Evaluates the EQL rules on batches of the events queue",
    });
    detect.fn.addEventSource(new SqsEventSource(this.eventsQueue, {
      batchSize: cfg.eventsBatchSize,
      maxBatchingWindow: Duration.seconds(cfg.eventsBatchingWindowSeconds),
      maxConcurrency: cfg.detectMaxConcurrency,
      reportBatchItemFailures: true,
    }));
    allowTable(detect, this.table, TABLE_ACTIONS.detect);
    this.rejectedQueue.grantSendMessages(detect.fn);

    // The sweep runs detect's engine on due timers and triage on alerts the stream did not get to,
    // so it has both environments and triage's grants. It never decodes events, so it may not send
    // to the rejected-events queue (older detect runtimes insist on the URL, which costs nothing).
    const sweep = make("sweep", "Sweep", {
      memorySize: cfg.detectMemoryMb,
      timeout: Duration.seconds(Math.max(cfg.detectTimeoutSeconds, cfg.triageTimeoutSeconds)),
      environment: { ...detectEnvironment, ...triageEnvironment },
      description: "Evaluates due timers of missing-event stages and re-triages alerts the stream did not get to",
    });
    allowTable(sweep, this.table, TABLE_ACTIONS.sweep);
    grantTriageOutputs(sweep);
    // A missed or failed sweep is caught up by the next one (it keeps a cursor), so Lambda's async
    // retries would only overlap with it.
    sweep.fn.configureAsyncInvoke({ retryAttempts: 0 });
    new Rule(this, "SweepSchedule", {
      description: "Runs the sweep",
      schedule: Schedule.expression(cfg.sweepSchedule),
      targets: [new LambdaFunction(sweep.fn, { retryAttempts: 2, maxEventAge: Duration.minutes(2) })],
    });

    // ---- S3 ingest ----
    if (cfg.ingestBucket !== undefined) {
      const bucket: IBucket = cfg.ingestBucket.startsWith("arn:")
        ? Bucket.fromBucketArn(this, "IngestBucket", cfg.ingestBucket)
        : Bucket.fromBucketName(this, "IngestBucket", cfg.ingestBucket);
      const filter = {
        ...(cfg.ingestPrefix !== undefined ? { prefix: cfg.ingestPrefix } : {}),
        ...(cfg.ingestSuffix !== undefined ? { suffix: cfg.ingestSuffix } : {}),
      };
      // A filter must name a prefix or a suffix; without either, every new object notifies.
      bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.eventsQueue), ...(Object.keys(filter).length > 0 ? [filter] : []));
      // Read, not grantRead: GetObject(+Version, S3 notifications of versioned buckets name one)
      // on the notified keys, and ListBucket so that a deleted object is a 404 (rejected) rather
      // than a 403 (retried until the DLQ).
      detect.role.addToPrincipalPolicy(new PolicyStatement({
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [bucket.arnForObjects(`${cfg.ingestPrefix ?? ""}*`)],
      }));
      detect.role.addToPrincipalPolicy(new PolicyStatement({ actions: ["s3:ListBucket"], resources: [bucket.bucketArn] }));
      if (cfg.ingestBucketKmsKeyArn !== undefined) Key.fromKeyArn(this, "IngestBucketKey", cfg.ingestBucketKmsKeyArn).grantDecrypt(detect.fn);
      // The CDK manages notifications of an imported bucket with its own deployment-time custom
      // resource (a singleton function at the stack root).
      const handler = this.node.children.find((c) => c.node.id.startsWith("BucketNotificationsHandler"));
      if (handler) {
        Validations.of(handler).acknowledge({
          id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
          reason: "The CDK's own bucket-notifications custom resource (runs only during deployment to put the notification configuration on the imported bucket); its role is CDK-managed, and the managed policy only lets it write its logs.",
        });
      }
      Validations.of(detect).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${cfg.ingestBucket.startsWith("arn:") ? cfg.ingestBucket : `arn:<AWS::Partition>:s3:::${cfg.ingestBucket}`}/${cfg.ingestPrefix ?? ""}*]`,
        reason: "detect reads whichever object the bucket notifies about; keys are not known in advance, so the grant covers the notified prefix (read-only).",
      });
    }

    // ---- triage on the stream ----
    const triage = make("triage", "Triage", {
      memorySize: cfg.triageMemoryMb,
      timeout: Duration.seconds(cfg.triageTimeoutSeconds),
      environment: triageEnvironment,
      description: "Triages new and retracted alerts from the table's stream and routes them to the outputs",
    });
    triage.fn.addEventSource(new DynamoEventSource(this.table, {
      // The table is the outbox: every alert reaches triage, including those written before the
      // event source mapping first polled.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: cfg.triageBatchSize,
      bisectBatchOnError: true,
      retryAttempts: cfg.triageRetryAttempts,
      maxRecordAge: Duration.seconds(cfg.triageMaxRecordAgeSeconds),
      onFailure: new SqsDlq(this.triageFailureQueue),
      reportBatchItemFailures: true,
      filters: ALERT_STREAM_FILTER_PATTERNS.map((p) => FilterCriteria.filter(p)),
    }));
    allowTable(triage, this.table, TABLE_ACTIONS.triage);
    grantTriageOutputs(triage);

    // ---- Slack delivery ----
    let deliver: PipelineFunction | undefined;
    if (this.slackQueue && slackSecret && cfg.slackSecret !== undefined) {
      deliver = make("deliver-slack", "DeliverSlack", {
        memorySize: 256,
        timeout: Duration.seconds(30),
        environment: {
          [ENV.table]: this.table.tableName,
          [ENV.slackSecretId]: cfg.slackSecret,
          // A storm digest is posted by a delayed message on this same queue (lib/deliver/digest.ts).
          [ENV.slackQueueUrl]: this.slackQueue.queueUrl,
          ...(cfg.slackDigestThreshold !== undefined ? { [ENV.slackDigestThreshold]: String(cfg.slackDigestThreshold) } : {}),
        },
        description: "Posts triage cards to Slack from the Slack delivery queue",
      });
      // Slack's rate limits, not Lambda's, bound this consumer: a small event-source
      // maxConcurrency throttles the poller instead of the function (a low reserved concurrency
      // would make Lambda reject invocations and push messages to the DLQ).
      deliver.fn.addEventSource(new SqsEventSource(this.slackQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        maxConcurrency: cfg.slackMaxConcurrency,
        reportBatchItemFailures: true,
      }));
      allowTable(deliver, this.table, TABLE_ACTIONS["deliver-slack"]);
      this.slackQueue.grantSendMessages(deliver.fn); // the delayed digest message
      slackSecret.grantRead(deliver.fn);
      if (secretsKey) secretsKey.grantDecrypt(deliver.fn);
    }

    this.functions = { detect, sweep, triage, ...(deliver ? { "deliver-slack": deliver } : {}) };

    // ---- operations ----
    let alarmTopic: ITopic | undefined;
    if (cfg.alarmTopic !== undefined) {
      if (cfg.alarmTopic.startsWith("arn:")) alarmTopic = Topic.fromTopicArn(this, "AlarmTopic", cfg.alarmTopic);
      else {
        // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the
        // topic gets its own key whose policy admits CloudWatch.
        const topicKey = new Key(this, "AlarmTopicKey", { description: "Encrypts the alarm topic", enableKeyRotation: true, removalPolicy });
        topicKey.addToResourcePolicy(new PolicyStatement({
          effect: Effect.ALLOW,
          principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"], // in a key policy, "*" is this key
        }));
        const topic = new Topic(this, "AlarmTopic", { displayName: `${cfg.stackName} alarms`, masterKey: topicKey, enforceSSL: true });
        topic.addSubscription(new EmailSubscription(cfg.alarmTopic));
        alarmTopic = topic;
      }
    }
    const failureQueues = [
      { label: "EventsDlq", queue: this.eventsDlq },
      { label: "TriageFailureQueue", queue: this.triageFailureQueue },
      ...(this.slackDlq ? [{ label: "SlackDlq", queue: this.slackDlq }] : []),
      ...(this.ticketDlq ? [{ label: "TicketDlq", queue: this.ticketDlq }] : []),
    ];
    this.operations = new PipelineOperations(this, "Operations", {
      dashboardName: cfg.stackName,
      metricsNamespace: cfg.metricsNamespace,
      functions: [
        { label: "Detect", fn: detect.fn, serviceName: "detect" },
        { label: "Sweep", fn: sweep.fn, serviceName: "sweep" },
        { label: "Triage", fn: triage.fn, serviceName: "triage" },
        ...(deliver ? [{ label: "DeliverSlack", fn: deliver.fn, serviceName: "deliver-slack" }] : []),
      ],
      failureQueues,
      eventsQueue: this.eventsQueue,
      rejectedQueue: this.rejectedQueue,
      streamConsumer: triage.fn,
      detectServiceName: "detect",
      otherAlertServices: ["sweep"],
      rejectedAlarmThreshold: cfg.rejectedAlarmThreshold,
      eventsAgeAlarm: Duration.seconds(cfg.eventsAgeAlarmSeconds),
      iteratorAgeAlarm: Duration.seconds(cfg.iteratorAgeAlarmSeconds),
      ...(alarmTopic ? { alarmTopic } : {}),
    });

    // ---- outputs (what forwarders, operators and `triage redrive` need) ----
    const output = (outputId: string, value: string, description: string): void => {
      new CfnOutput(this, outputId, { value, description });
    };
    output("EventsQueueUrl", this.eventsQueue.queueUrl, "Forwarders send events here");
    output("EventsQueueArn", this.eventsQueue.queueArn, "For forwarder IAM policies");
    output("EventsDlqUrl", this.eventsDlq.queueUrl, "Messages detect failed on (redrive to the events queue)");
    output("RejectedQueueUrl", this.rejectedQueue.queueUrl, "Rejected events with their reason");
    output("StateTableName", this.table.tableName, "State, alerts and triage results");
    output("TriageFailureQueueUrl", this.triageFailureQueue.queueUrl, "Stream batches triage gave up on (metadata)");
    if (this.ticketQueue) output("TicketQueueUrl", this.ticketQueue.queueUrl, "SOC ticket messages");
    if (this.ticketDlq) output("TicketDlqUrl", this.ticketDlq.queueUrl, "Ticket messages the SOC consumer failed on");
    if (this.slackQueue) output("SlackQueueUrl", this.slackQueue.queueUrl, "Slack deliveries");
    if (this.slackDlq) output("SlackDlqUrl", this.slackDlq.queueUrl, `Failed Slack deliveries (${ENV.slackDlqUrl} for triage redrive)`);
    output("DashboardName", cfg.stackName, "CloudWatch dashboard");
  }
}

/** Problems the schema cannot see: they depend on the files next to the stack. */
export function stackProblems(cfg: PipelineConfig, projectRoot: string, entries: Readonly<Record<FunctionName, string>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const name of FUNCTION_NAMES) {
    if (name === "deliver-slack" && cfg.slackSecret === undefined) continue; // not deployed
    if (!existsSync(entries[name])) problems.push({ field: `entries.${name}`, message: `handler file ${entries[name]} does not exist` });
  }
  if (!existsSync(path.join(projectRoot, "rules"))) problems.push({ field: "rules", message: `no rules/ folder in ${projectRoot} to bundle` });
  const bundled = cfg.reputationLists.filter((l) => !l.startsWith("s3://"));
  for (const l of bundled) {
    if (!existsSync(path.join(projectRoot, l))) problems.push({ field: "reputationLists", message: `${l} does not exist in ${projectRoot} (bundled lists come from the repository's lists/ folder)` });
  }
  return problems;
}

/** DynamoDB actions on exactly the table, written out rather than `TableV2.grant` so that each function's list is visible in one place (TABLE_ACTIONS). */
function allowTable(fn: PipelineFunction, table: TableV2, actions: readonly string[]): void {
  fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }));
}

/** A secret by name, complete ARN (with the random 6-character suffix) or partial ARN. */
function importSecret(scope: Construct, id: string, ref: string): ISecret {
  if (!ref.startsWith("arn:")) return Secret.fromSecretNameV2(scope, id, ref);
  return /-[A-Za-z0-9]{6}$/.test(ref) ? Secret.fromSecretCompleteArn(scope, id, ref) : Secret.fromSecretPartialArn(scope, id, ref);
}
