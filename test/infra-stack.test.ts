/**
 * The stack's properties, asserted on the synthesized template with bundling skipped (fast, no
 * esbuild): event sources and their settings, DLQs, the table, encryption, the stream filter,
 * alarms, the dashboard, and each function's IAM statements, resource by resource. cdk-nag's
 * AwsSolutions checks run on every synth here as in bin/app.ts: a finding fails the synth.
 *
 * NodejsFunction insists that its entry file exists even when bundling is skipped. A function
 * whose handler is not written yet is given this test file as a stand-in entry: with bundling
 * skipped the file is never read, and the template does not depend on it. The handler files
 * themselves are checked in the last block (skipped, with a note, while one is missing).
 */
import { execSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { CfnRole } from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_FOLDERS, FUNCTION_NAMES, PROJECT_ROOT, copyFolderCommands, defaultEntry, ruleCacheCommands, type FunctionName } from "../lib/infra/bundling.js";
import { ConfigError, loadConfig } from "../lib/infra/config.js";
import { ENV } from "../lib/infra/env.js";
import { DETECT_METRICS } from "../lib/infra/operations.js";
import { EqlStreamTriageStack, TABLE_ACTIONS } from "../lib/infra/stack.js";
import type { PipelineFunction } from "../lib/infra/pipeline-function.js";
import { ALERT_STREAM_FILTER_PATTERNS } from "../lib/triage/stream-filter.js";

const STAND_IN = fileURLToPath(import.meta.url);
const MISSING = FUNCTION_NAMES.filter((n) => !existsSync(defaultEntry(n)));
const ENTRIES = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, MISSING.includes(n) ? STAND_IN : defaultEntry(n)])) as Record<FunctionName, string>;

const ACCOUNT = "111122223333";
const KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const SECRETS_KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ac`;
const REPUTATION_SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:eql/reputation-AbCdEf`;
const FORWARDER = "arn:aws:iam::444455556666:role/vector-forwarder";

interface Synth {
  readonly app: App;
  readonly stack: EqlStreamTriageStack;
  readonly template: Template;
  readonly json: string;
}

/** Synthesizes like bin/app.ts (config from context, cdk-nag as a validation plugin), bundling skipped. */
function synth(context: Record<string, unknown> = {}): Synth {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] }, outdir: mkdtempSync(path.join(tmpdir(), "infra-stack-")) });
  const config = loadConfig(context);
  const stack = new EqlStreamTriageStack(app, config.stackName, { config, entries: ENTRIES });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth(); // throws ValidationFailed when cdk-nag reports a finding
  const template = Template.fromStack(stack);
  return { app, stack, template, json: JSON.stringify(template.toJSON()) };
}

const id = (stack: Stack, c: { node: { defaultChild?: unknown } } | { readonly node: unknown }): string =>
  stack.getLogicalId((c as { node: { defaultChild: CfnRole } }).node.defaultChild);
const arnOf = (logicalId: string) => ({ "Fn::GetAtt": [logicalId, "Arn"] });

interface Statement {
  readonly actions: string[];
  readonly resources: string[];
}

/** The statements of the policies attached to a function's role, actions sorted, resources as JSON. */
function statementsOf(s: Synth, f: PipelineFunction): Statement[] {
  const roleId = id(s.stack, f.role);
  const policies = Object.values(s.template.findResources("AWS::IAM::Policy")) as { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } } }[];
  const out: Statement[] = [];
  for (const p of policies) {
    if (!p.Properties.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    for (const st of p.Properties.PolicyDocument.Statement) {
      expect(st.Effect).toBe("Allow");
      expect(st.Condition).toBeUndefined();
      const actions = ([] as string[]).concat(st.Action as string | string[]).sort();
      const resources = ([] as unknown[]).concat(st.Resource).map((r) => JSON.stringify(r)).sort();
      out.push({ actions, resources });
    }
  }
  return out.sort((a, b) => (a.actions.join() + a.resources.join()).localeCompare(b.actions.join() + b.resources.join()));
}

function expectStatements(s: Synth, f: PipelineFunction, expected: { actions: string[]; resources: unknown[] }[]): void {
  const want = expected
    .map((e) => ({ actions: [...e.actions].sort(), resources: e.resources.map((r) => JSON.stringify(r)).sort() }))
    .sort((a, b) => (a.actions.join() + a.resources.join()).localeCompare(b.actions.join() + b.resources.join()));
  expect(statementsOf(s, f)).toEqual(want);
}

const SQS_SEND = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"];
const SQS_CONSUME = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"];
const STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"];
const LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"];
const table = (fn: FunctionName): string[] => TABLE_ACTIONS[fn].map((a) => `dynamodb:${a}`);

describe("the stack with the default configuration", () => {
  let s: Synth;
  beforeAll(() => {
    s = synth();
  });

  it("passes cdk-nag's AwsSolutions checks, every acknowledgement with a written reason", () => {
    // synth() would have thrown on a finding; here: each acknowledgement explains itself.
    const reasons: string[] = [];
    for (const c of s.app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) reasons.push(...Object.values(m.data as Record<string, string>));
      }
    }
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r.length).toBeGreaterThan(60);
  });

  it("encrypts every queue and enforces TLS on it", () => {
    const queues = s.template.findResources("AWS::SQS::Queue");
    for (const q of Object.values(queues) as { Properties: Record<string, unknown> }[]) {
      expect(q.Properties.SqsManagedSseEnabled ?? q.Properties.KmsMasterKeyId).toBeTruthy();
    }
    // One queue policy per queue denying non-TLS access.
    for (const logicalId of Object.keys(queues)) {
      s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: logicalId }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
      });
    }
    // events, its DLQ, rejected, triage on-failure, ticket + DLQ (ticketQueue=create); no Slack without a secret
    expect(Object.keys(queues)).toHaveLength(6);
  });

  it("feeds the detect function from the events queue: partial batch responses, batch size, window, maximum concurrency", () => {
    const st = s.stack;
    s.template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * 60 + 5, // >= 6x the function timeout, plus the batching window
      MessageRetentionPeriod: 4 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: arnOf(id(st, st.eventsDlq)), maxReceiveCount: 5 },
    });
    s.template.hasResourceProperties("AWS::SQS::Queue", { MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(id(st, st.eventsQueue)),
      FunctionName: { Ref: id(st, st.functions.detect!.fn) },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("keeps rejected events for 14 days", () => {
    const q = s.template.toJSON().Resources[id(s.stack, s.stack.rejectedQueue)] as { Properties: Record<string, unknown> };
    expect(q.Properties).toMatchObject({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    expect(q.Properties.RedrivePolicy).toBeUndefined();
  });

  it("has one on-demand table with TTL on expiresAt, a NEW_AND_OLD_IMAGES stream, point-in-time recovery and KMS encryption", () => {
    s.template.resourceCountIs("AWS::DynamoDB::GlobalTable", 1);
    s.template.resourceCountIs("AWS::DynamoDB::Table", 0);
    s.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }]),
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
    });
    s.template.hasResource("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    // No secondary index: the sweep walks minute-bucket reminder items instead (lib/detect/keys.ts).
    s.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", { GlobalSecondaryIndexes: Match.absent(), LocalSecondaryIndexes: Match.absent() });
  });

  it("runs triage on the table's stream: alert inserts and retractions only, bisect on error, bounded retries and record age, an on-failure queue", () => {
    const st = s.stack;
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [id(st, st.table), "StreamArn"] },
      FunctionName: { Ref: id(st, st.functions.triage!.fn) },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: 10,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: arnOf(id(st, st.triageFailureQueue)) } },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      // Exactly the shared constant, in order: the handler applies the same definition.
      FilterCriteria: { Filters: ALERT_STREAM_FILTER_PATTERNS.map((p) => ({ Pattern: JSON.stringify(p) })) },
    });
  });

  it("sweeps on the EventBridge schedule, without Lambda's async retries", () => {
    const st = s.stack;
    s.template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: arnOf(id(st, st.functions.sweep!.fn)), RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 120 } })],
    });
    s.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { FunctionName: { Ref: id(st, st.functions.sweep!.fn) }, MaximumRetryAttempts: 0 });
  });

  it("builds every function the same way: Node 24, arm64, ESM handler, Powertools environment, its own log group, no reserved concurrency", () => {
    const fns = s.template.findResources("AWS::Lambda::Function");
    expect(Object.keys(fns)).toHaveLength(3); // detect, sweep, triage (no Slack secret, no deliver-slack)
    for (const [logicalId, f] of Object.entries(fns) as [string, { Properties: Record<string, unknown> }][]) {
      const p = f.Properties;
      expect(p.Runtime, logicalId).toBe("nodejs24.x");
      expect(p.Architectures, logicalId).toEqual(["arm64"]);
      expect(p.Handler, logicalId).toBe("index.handler");
      expect(p.ReservedConcurrentExecutions, logicalId).toBeUndefined();
      const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: "EqlStreamTriage", POWERTOOLS_LOG_LEVEL: "INFO" });
      expect(["detect", "sweep", "triage"]).toContain(env.POWERTOOLS_SERVICE_NAME);
      expect(p.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.stringMatching(/Logs/) } });
    }
    for (const lg of Object.values(s.template.findResources("AWS::Logs::LogGroup")) as { Properties: Record<string, unknown> }[]) expect(lg.Properties.RetentionInDays).toBe(30);
  });

  it("tells each function where its resources are (lib/infra/env.ts) and where its rules are bundled", () => {
    const st = s.stack;
    const envOf = (f: PipelineFunction) => (s.template.toJSON().Resources[id(st, f.fn)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    const common = {
      [ENV.table]: { Ref: id(st, st.table) },
      [ENV.rulesDir]: "/var/task/rules",
    };
    expect(envOf(st.functions.detect!)).toEqual(expect.objectContaining({
      ...common,
      [ENV.rejectedQueueUrl]: { Ref: id(st, st.rejectedQueue) },
      [ENV.allowedLatenessSeconds]: "900",
      [ENV.maxFutureSkewSeconds]: "300",
      [ENV.matchEventsWithoutDataStream]: "true",
    }));
    const triage = envOf(st.functions.triage!);
    expect(triage).toEqual(expect.objectContaining({ ...common, [ENV.ticketQueueUrl]: { Ref: id(st, st.ticketQueue as never) } }));
    expect(triage[ENV.slackQueueUrl]).toBeUndefined();
    expect(triage[ENV.reputationSecretId]).toBeUndefined();
    // The sweep re-triages, so it has triage's environment as well as detect's.
    const triageOwn = Object.fromEntries(Object.entries(triage).filter(([k]) => !k.startsWith("POWERTOOLS_")));
    expect(envOf(st.functions.sweep!)).toEqual(expect.objectContaining({ ...triageOwn, [ENV.allowedLatenessSeconds]: "900", POWERTOOLS_SERVICE_NAME: "sweep" }));
  });

  it("grants each function exactly the table and queues it uses", () => {
    const st = s.stack;
    const tableArn = arnOf(id(st, st.table));
    const logs = (f: PipelineFunction) => ({ actions: LOGS, resources: [arnOf(id(st, f.logGroup as never))] });
    const f = st.functions;
    expectStatements(s, f.detect!, [
      logs(f.detect!),
      { actions: SQS_CONSUME, resources: [arnOf(id(st, st.eventsQueue))] },
      { actions: table("detect"), resources: [tableArn] },
      { actions: SQS_SEND, resources: [arnOf(id(st, st.rejectedQueue))] },
    ]);
    // The sweep re-triages (ticket queue) but never decodes events: no rejected-queue send.
    expectStatements(s, f.sweep!, [
      logs(f.sweep!),
      { actions: table("sweep"), resources: [tableArn] },
      { actions: SQS_SEND, resources: [arnOf(id(st, st.ticketQueue as never))] },
    ]);
    expectStatements(s, f.triage!, [
      logs(f.triage!),
      { actions: SQS_SEND, resources: [arnOf(id(st, st.triageFailureQueue))] },
      { actions: ["dynamodb:ListStreams"], resources: [{ "Fn::GetAtt": [id(st, st.table), "StreamArn"] }] },
      { actions: STREAM_READ, resources: [{ "Fn::GetAtt": [id(st, st.table), "StreamArn"] }] },
      { actions: table("triage"), resources: [tableArn] },
      { actions: SQS_SEND, resources: [arnOf(id(st, st.ticketQueue as never))] },
    ]);
    // Least privilege at a glance: only the sweep deletes items; nobody deletes or describes the table.
    expect(TABLE_ACTIONS.detect).not.toContain("DeleteItem");
    expect(s.json).not.toMatch(/dynamodb:(DeleteTable|DescribeTable|Scan|\*)/);
    // No managed policies: each role writes its own log group and holds the grants above.
    for (const r of Object.values(s.template.findResources("AWS::IAM::Role")) as { Properties: Record<string, unknown> }[]) expect(r.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("alarms on failure queues, function errors and throttles, the events backlog, the stream iterator age and rejected events", () => {
    const st = s.stack;
    const alarms = Object.values(s.template.findResources("AWS::CloudWatch::Alarm")) as { Properties: Record<string, unknown> }[];
    const on = (metric: string, dim: unknown) => alarms.filter((a) => a.Properties.MetricName === metric && JSON.stringify(a.Properties.Dimensions).includes(JSON.stringify(dim)));
    for (const q of [st.eventsDlq, st.triageFailureQueue, st.ticketDlq!]) {
      const [a] = on("ApproximateNumberOfMessagesVisible", { "Fn::GetAtt": [id(st, q), "QueueName"] });
      expect(a?.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching" });
    }
    for (const f of [st.functions.detect!, st.functions.sweep!, st.functions.triage!]) {
      expect(on("Errors", { Ref: id(st, f.fn) })).toHaveLength(1);
      expect(on("Throttles", { Ref: id(st, f.fn) })).toHaveLength(1);
    }
    expect(on("ApproximateAgeOfOldestMessage", { "Fn::GetAtt": [id(st, st.eventsQueue), "QueueName"] })[0]?.Properties).toMatchObject({ Threshold: 300, Statistic: "Maximum" });
    expect(on("IteratorAge", { Ref: id(st, st.functions.triage!.fn) })[0]?.Properties).toMatchObject({ Threshold: 120_000, Statistic: "Maximum", Namespace: "AWS/Lambda" });
    expect(on("NumberOfMessagesSent", { "Fn::GetAtt": [id(st, st.rejectedQueue), "QueueName"] })[0]?.Properties).toMatchObject({ Threshold: 100, ComparisonOperator: "GreaterThanThreshold", Period: 300 });
    expect(alarms).toHaveLength(3 + 3 * 2 + 3);
    for (const a of alarms) expect(a.Properties.AlarmActions).toBeUndefined(); // no alarmTopic configured
  });

  it("has a dashboard of the pipeline metrics", () => {
    const [dash] = Object.values(s.template.findResources("AWS::CloudWatch::Dashboard")) as { Properties: { DashboardName: string; DashboardBody: { "Fn::Join": [string, unknown[]] } } }[];
    expect(dash!.Properties.DashboardName).toBe("EqlStreamTriage");
    // The body is JSON with references spliced in: put a placeholder for each and parse it.
    const text = dash!.Properties.DashboardBody["Fn::Join"][1].map((p) => (typeof p === "string" ? p : "REF")).join("");
    const widgets = (JSON.parse(text) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] }).widgets;
    const metrics = widgets.flatMap((w) => w.properties.metrics ?? []);
    const has = (...m: unknown[]) => metrics.some((row) => m.every((x, i) => row[i] === x));
    for (const m of DETECT_METRICS) expect(has("EqlStreamTriage", m, "service", "detect"), m).toBe(true);
    expect(has("EqlStreamTriage", "Alerts", "service", "sweep")).toBe(true); // missing-event sequences
    expect(metrics.some((row) => JSON.stringify(row).includes('MetricName=\\"RejectedByReason\\"'))).toBe(true);
    for (const m of ["IteratorAge", "ApproximateAgeOfOldestMessage", "Throttles", "Errors", "Duration"]) expect(metrics.some((row) => row.includes(m)), m).toBe(true);
  });

  it("outputs what forwarders and operators need", () => {
    for (const o of ["EventsQueueUrl", "EventsQueueArn", "EventsDlqUrl", "RejectedQueueUrl", "StateTableName", "TriageFailureQueueUrl", "TicketQueueUrl", "TicketDlqUrl", "DashboardName"]) {
      s.template.hasOutput(o, {});
    }
  });
});

describe("the stack with every option", () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({
      stackName: "EqlFull",
      eventsQueueKms: "customer-managed",
      forwarderPrincipals: FORWARDER,
      ingestBucket: "soc-log-archive",
      ingestPrefix: "firehose/",
      ingestBucketKmsKeyArn: KEY_ARN,
      slackSecret: "eql/slack",
      slackMaxConcurrency: "3",
      reputationSecret: REPUTATION_SECRET_ARN,
      secretsKmsKeyArn: SECRETS_KEY_ARN,
      reputationLists: "s3://threat-lists/firehol_level1.netset",
      ticketQueue: "create-fifo",
      alarmTopic: "soc@example.com",
      routing: '{"routes":[{"minSeverity":"high","outputs":["slack","ticket"]}]}',
      logLevel: "DEBUG",
      eventsBatchSize: "1000",
      detectMaxConcurrency: "50",
      removalPolicy: "destroy",
    });
  });

  it("encrypts the events queue with its own key whose policy admits S3 and the forwarders", () => {
    const st = s.stack;
    const keys = s.template.findResources("AWS::KMS::Key");
    const [keyId, key] = Object.entries(keys).find(([, k]) => JSON.stringify(k).includes("events queue"))! as [string, { Properties: { EnableKeyRotation: boolean; KeyPolicy: { Statement: { Principal?: unknown; Action: unknown }[] } } }];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    s.template.hasResourceProperties("AWS::SQS::Queue", {
      KmsMasterKeyId: arnOf(keyId),
      RedrivePolicy: { deadLetterTargetArn: arnOf(id(st, st.eventsDlq)), maxReceiveCount: 5 },
    });
    const principals = JSON.stringify(key.Properties.KeyPolicy.Statement.map((x) => x.Principal));
    expect(principals).toContain("s3.amazonaws.com");
    expect(principals).toContain(FORWARDER);
    // The queue policy admits the forwarder and S3 (from this bucket only).
    s.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: id(st, st.eventsQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { AWS: FORWARDER }, Action: Match.arrayWith(["sqs:SendMessage"]) }),
          Match.objectLike({ Principal: { Service: "s3.amazonaws.com" }, Condition: { ArnLike: { "aws:SourceArn": Match.anyValue() } } }),
        ]),
      },
    });
  });

  it("sends the bucket's object-created notifications to the events queue, and only detect may read the bucket", () => {
    const st = s.stack;
    s.template.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: "soc-log-archive",
      NotificationConfiguration: {
        QueueConfigurations: [{
          Events: ["s3:ObjectCreated:*"],
          QueueArn: arnOf(id(st, st.eventsQueue)),
          Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "firehose/" }] } },
        }],
      },
      Managed: false, // an imported bucket: existing notifications are kept
    });
    for (const name of ["sweep", "triage", "deliver-slack"] as const) {
      const statements = JSON.stringify(statementsOf(s, st.functions[name]!));
      expect(statements).not.toContain("soc-log-archive");
      expect(statements).not.toContain(KEY_ARN);
    }
    const detect = statementsOf(s, st.functions.detect!);
    expect(detect).toContainEqual({ actions: ["s3:GetObject", "s3:GetObjectVersion"], resources: [JSON.stringify({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::soc-log-archive/firehose/*"]] })] });
    expect(detect).toContainEqual({ actions: ["s3:ListBucket"], resources: [JSON.stringify({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::soc-log-archive"]] })] });
    expect(detect).toContainEqual({ actions: ["kms:Decrypt"], resources: [JSON.stringify(KEY_ARN)] });
  });

  it("delivers to Slack from its own queue with a small event-source maxConcurrency, not reserved concurrency", () => {
    const st = s.stack;
    s.template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: arnOf(id(st, st.slackDlq!)), maxReceiveCount: 10 },
    });
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(id(st, st.slackQueue!)),
      FunctionName: { Ref: id(st, st.functions["deliver-slack"]!.fn) },
      ScalingConfig: { MaximumConcurrency: 3 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    for (const f of Object.values(s.template.findResources("AWS::Lambda::Function")) as { Properties: Record<string, unknown> }[]) {
      expect(f.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it("creates a FIFO ticket queue (with a FIFO DLQ) for high-throughput deduplicated tickets", () => {
    const st = s.stack;
    s.template.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      RedrivePolicy: { deadLetterTargetArn: arnOf(id(st, st.ticketDlq!)), maxReceiveCount: 5 },
    });
    const dlq = s.template.toJSON().Resources[id(st, st.ticketDlq!)] as { Properties: Record<string, unknown> };
    expect(dlq.Properties.FifoQueue).toBe(true);
  });

  it("reads the secrets at run time: names and ARNs in the environment, never a value; each secret readable only by its user", () => {
    const st = s.stack;
    s.template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(s.json).not.toMatch(/hooks\.slack\.com|xox[bp]-/);
    const env = (name: FunctionName) => (s.template.toJSON().Resources[id(st, st.functions[name]!.fn)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    expect(env("deliver-slack")[ENV.slackSecretId]).toBe("eql/slack");
    expect(env("deliver-slack")[ENV.slackQueueUrl]).toEqual({ Ref: id(st, st.slackQueue!) });
    expect(env("triage")[ENV.reputationSecretId]).toBe(REPUTATION_SECRET_ARN);
    expect(env("triage")[ENV.slackQueueUrl]).toEqual({ Ref: id(st, st.slackQueue!) });
    // Normalised by the routing schema (defaults filled in), so the function reads exactly what synth checked.
    expect(JSON.parse(env("triage")[ENV.routing] as string)).toEqual({ routes: [{ minSeverity: "high", outputs: ["slack", "ticket"] }], default: { outputs: ["slack", "ticket"] } });
    expect(env("triage")[ENV.reputationLists]).toBe("s3://threat-lists/firehol_level1.netset");
    expect(env("detect").POWERTOOLS_LOG_LEVEL).toBe("DEBUG");

    const secretRead = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"];
    const slackArn = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, ":secret:eql/slack-??????"]] };
    const f = st.functions;
    const tableArn = arnOf(id(st, st.table));
    const logs = (p: PipelineFunction) => ({ actions: LOGS, resources: [arnOf(id(st, p.logGroup as never))] });
    expectStatements(s, f["deliver-slack"]!, [
      logs(f["deliver-slack"]!),
      { actions: SQS_CONSUME, resources: [arnOf(id(st, st.slackQueue!))] },
      { actions: SQS_SEND, resources: [arnOf(id(st, st.slackQueue!))] },
      { actions: table("deliver-slack"), resources: [tableArn] },
      { actions: secretRead, resources: [slackArn] },
      { actions: ["kms:Decrypt"], resources: [SECRETS_KEY_ARN] },
    ]);
    const triageOutputs = [
      { actions: SQS_SEND, resources: [arnOf(id(st, st.ticketQueue as never))] },
      { actions: SQS_SEND, resources: [arnOf(id(st, st.slackQueue!))] },
      { actions: secretRead, resources: [REPUTATION_SECRET_ARN] },
      { actions: ["kms:Decrypt"], resources: [SECRETS_KEY_ARN] },
      { actions: ["s3:GetObject"], resources: [{ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::threat-lists/firehol_level1.netset"]] }] },
    ];
    expectStatements(s, f.triage!, [
      logs(f.triage!),
      { actions: SQS_SEND, resources: [arnOf(id(st, st.triageFailureQueue))] },
      { actions: ["dynamodb:ListStreams"], resources: [{ "Fn::GetAtt": [id(st, st.table), "StreamArn"] }] },
      { actions: STREAM_READ, resources: [{ "Fn::GetAtt": [id(st, st.table), "StreamArn"] }] },
      { actions: table("triage"), resources: [tableArn] },
      ...triageOutputs,
    ]);
    // The sweep's re-triage reaches the same outputs, secret and lists.
    expectStatements(s, f.sweep!, [logs(f.sweep!), { actions: table("sweep"), resources: [tableArn] }, ...triageOutputs]);
    // The Slack secret is readable by deliver-slack alone, the reputation keys by triage and the sweep alone.
    for (const name of ["detect", "sweep", "triage"] as const) expect(JSON.stringify(statementsOf(s, f[name]!))).not.toContain("eql/slack");
    expect(JSON.stringify(statementsOf(s, f.detect!))).not.toContain("secretsmanager");
    expect(JSON.stringify(statementsOf(s, f["deliver-slack"]!))).not.toContain(REPUTATION_SECRET_ARN);
  });

  it("notifies an encrypted alarm topic that CloudWatch can publish to", () => {
    const alarms = Object.values(s.template.findResources("AWS::CloudWatch::Alarm")) as { Properties: Record<string, unknown> }[];
    const [topicId] = Object.keys(s.template.findResources("AWS::SNS::Topic"));
    expect(alarms.length).toBe(4 + 4 * 2 + 3); // + Slack DLQ, + deliver-slack errors/throttles
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    s.template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "soc@example.com", TopicArn: { Ref: topicId } });
    s.template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    s.template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"] })]) },
    });
  });

  it("applies the removal policy and batch settings from the configuration", () => {
    s.template.hasResource("AWS::DynamoDB::GlobalTable", { DeletionPolicy: "Delete" });
    s.template.hasResourceProperties("AWS::DynamoDB::GlobalTable", { Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] });
    s.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { BatchSize: 1000, ScalingConfig: { MaximumConcurrency: 50 } });
  });
});

describe("imported ticket queue and alarm topic", () => {
  it("sends tickets to the imported queue (and its key) without creating one", () => {
    const arn = `arn:aws:sqs:eu-west-1:${ACCOUNT}:soc-tickets.fifo`;
    const s = synth({ ticketQueue: arn, ticketQueueKmsKeyArn: KEY_ARN, alarmTopic: `arn:aws:sns:eu-west-1:${ACCOUNT}:soc-alarms` });
    expect(Object.values(s.template.findResources("AWS::SQS::Queue")).some((q) => JSON.stringify(q).includes("FifoQueue"))).toBe(false);
    const triage = statementsOf(s, s.stack.functions.triage!);
    expect(triage).toContainEqual({ actions: SQS_SEND, resources: [JSON.stringify(arn)] });
    expect(triage).toContainEqual({ actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [JSON.stringify(KEY_ARN)] });
    s.template.resourceCountIs("AWS::SNS::Topic", 0);
    for (const a of Object.values(s.template.findResources("AWS::CloudWatch::Alarm")) as { Properties: Record<string, unknown> }[]) {
      expect(a.Properties.AlarmActions).toEqual([`arn:aws:sns:eu-west-1:${ACCOUNT}:soc-alarms`]);
    }
  });

  it("has no ticket queue with ticketQueue=none", () => {
    const s = synth({ ticketQueue: "none" });
    const env = (s.template.toJSON().Resources[id(s.stack, s.stack.functions.triage!.fn)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    expect(env[ENV.ticketQueueUrl]).toBeUndefined();
    expect(Object.keys(s.template.findResources("AWS::SQS::Queue"))).toHaveLength(4);
  });
});

describe("problems found before any construct exists", () => {
  it("a missing handler file or bundled list fails the stack with a ConfigError naming each", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const config = loadConfig({ reputationLists: "lists/nowhere.netset" });
    let error: unknown;
    try {
      new EqlStreamTriageStack(app, "Bad", { config, entries: { ...ENTRIES, triage: path.join(PROJECT_ROOT, "functions/nope.ts") } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toEqual(["entries.triage", "reputationLists"]);
    expect(app.node.tryFindChild("Bad")?.node.children ?? []).toHaveLength(0);
  });
});

describe("bundling", () => {
  it("copies the rules folder next to the bundle (RULES_DIR=/var/task/rules) with its rule cache, with portable commands", () => {
    expect(BUNDLED_FOLDERS.detect).toEqual(["rules"]);
    expect(BUNDLED_FOLDERS.sweep).toContain("rules");
    expect(BUNDLED_FOLDERS["deliver-slack"]).toEqual([]); // it builds cards from stored triage results
    expect(BUNDLED_FOLDERS.triage).toContain("rules");
    const out = mkdtempSync(path.join(tmpdir(), "infra-bundle-"));
    try {
      const commands = copyFolderCommands(["rules", "no-such-folder"], PROJECT_ROOT, out);
      expect(commands).toHaveLength(1); // folders that do not exist are skipped
      for (const c of [...commands, ...ruleCacheCommands(out)]) execSync(c, { cwd: PROJECT_ROOT, stdio: "pipe" });
      expect(readdirSync(path.join(out, "rules"))).toEqual(expect.arrayContaining([...readdirSync(path.join(PROJECT_ROOT, "rules")), ".rules-cache.json"]));
      const cache = JSON.parse(readFileSync(path.join(out, "rules", ".rules-cache.json"), "utf8")) as { entries: object };
      expect(Object.keys(cache.entries)).toHaveLength(readdirSync(path.join(PROJECT_ROOT, "rules")).filter((f) => f.endsWith(".toml")).length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("handler files", () => {
  for (const name of FUNCTION_NAMES) {
    it(`functions/${name}.ts exists and exports handler`, (ctx) => {
      if (MISSING.includes(name)) ctx.skip(`functions/${name}.ts is not written yet (the stack tests above use a stand-in entry)`);
      expect(readFileSync(defaultEntry(name), "utf8")).toMatch(/export (const|async function|function) handler\b/);
    });
    it(`functions/${name}.ts imports ./zod-jitless.js before anything else`, (ctx) => {
      if (MISSING.includes(name)) ctx.skip(`functions/${name}.ts is not written yet`);
      // zod reads the setting when a schema is built: any import before it may build schemas with the JIT.
      const firstImport = /^import\s[^;]*?["']([^"']+)["']/m.exec(readFileSync(defaultEntry(name), "utf8"))?.[1];
      expect(firstImport).toBe("./zod-jitless.js");
    });
  }
});
