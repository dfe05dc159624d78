/**
 * The deployment configuration (lib/infra/config.ts): defaults, the string forms `-c key=value`
 * gives, the config file, and one ConfigError naming every bad field.
 */
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, configDefaults, loadConfig } from "../lib/infra/config.js";

function problems(context: Record<string, unknown>, readFile?: (p: string) => string): string[] {
  try {
    loadConfig(context, readFile ? { readFile, cwd: "/deploy" } : {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.field);
  }
  return [];
}

describe("configuration", () => {
  it("has a documented default for every optional key", () => {
    const d = configDefaults();
    expect(d).toMatchObject({
      stackName: "EqlStreamTriage",
      removalPolicy: "retain",
      logRetentionDays: 30,
      logLevel: "INFO",
      metricsNamespace: "EqlStreamTriage",
      eventsQueueKms: "sqs-managed",
      forwarderPrincipals: [],
      eventsBatchSize: 100,
      eventsBatchingWindowSeconds: 5,
      eventsMaxReceiveCount: 5,
      eventsRetentionDays: 4,
      detectMaxConcurrency: 10,
      detectTimeoutSeconds: 60,
      detectMemoryMb: 1024,
      allowedLatenessSeconds: 900,
      maxFutureSkewSeconds: 300,
      matchEventsWithoutDataStream: true,
      triageBatchSize: 10,
      triageRetryAttempts: 5,
      triageMaxRecordAgeSeconds: 3600,
      slackMaxConcurrency: 2,
      reputationLists: [],
      ticketQueue: "create",
      sweepSchedule: "rate(1 minute)",
      rejectedAlarmThreshold: 100,
      eventsAgeAlarmSeconds: 300,
      iteratorAgeAlarmSeconds: 120,
    });
    // Optional resources are off unless configured.
    for (const k of ["ingestBucket", "slackSecret", "reputationSecret", "alarmTopic", "routing", "slackDigestThreshold"] as const) expect(d[k]).toBeUndefined();
    // docs/deploy.md documents every key.
    expect(CONFIG_KEYS.length).toBeGreaterThan(30);
  });

  it("accepts the string forms of `cdk deploy -c key=value`", () => {
    const c = loadConfig({
      eventsBatchSize: "500",
      matchEventsWithoutDataStream: "false",
      slackSecret: "eql/slack",
      ticketQueue: "arn:aws:sqs:eu-west-1:111122223333:soc-tickets.fifo",
      routing: '{"routes":[{"minSeverity":"high","outputs":["slack","ticket"]}],"default":{"outputs":["ticket"]}}',
      reputationLists: "s3://threat-lists/firehol_level1.netset, lists/tor-exits.txt",
      forwarderPrincipals: '["arn:aws:iam::444455556666:role/vector"]',
      // CDK's own context keys are not ours and are ignored.
      "@aws-cdk/core:newStyleStackSynthesis": true,
      "aws:cdk:enable-path-metadata": true,
      "acknowledged-issue-numbers": [1234],
    });
    expect(c.eventsBatchSize).toBe(500);
    expect(c.matchEventsWithoutDataStream).toBe(false);
    expect(c.routing).toEqual({ routes: [{ minSeverity: "high", outputs: ["slack", "ticket"] }], default: { outputs: ["ticket"] } });
    expect(c.reputationLists).toEqual(["s3://threat-lists/firehol_level1.netset", "lists/tor-exits.txt"]);
    expect(c.forwarderPrincipals).toEqual(["arn:aws:iam::444455556666:role/vector"]);
  });

  it("treats an empty value as unset, so cdk.json values can be cleared on the command line", () => {
    expect(loadConfig({ slackSecret: "" }).slackSecret).toBeUndefined();
  });

  it("reports every bad field in one error, before anything is built", () => {
    let error: ConfigError | null = null;
    try {
      loadConfig({
        eventsBatchSize: "lots",
        detectMaxConcurrency: 1,
        slackMaxConcurrency: "1",
        ticketQueue: "jira",
        alarmTopic: "not-an-address",
        logRetentionDays: 31,
        slackSecrt: "eql/slack",
        ingestPrefix: "firehose/",
        routing: "{not json",
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.field).sort()).toEqual([
      "alarmTopic", "detectMaxConcurrency", "eventsBatchSize", "ingestPrefix", "logRetentionDays", "routing", "slackMaxConcurrency", "slackSecrt", "ticketQueue",
    ]);
    expect(error!.message).toMatch(/^invalid configuration \(9 problems\):\n/);
    expect(error!.message).toContain("  - detectMaxConcurrency: must be at least 2 (got 1)");
    expect(error!.message).toContain("  - slackSecrt: unknown configuration key (did you mean slackSecret?)");
    expect(error!.message).toContain('  - ticketQueue: must be "none", "create", "create-fifo" or an SQS queue ARN (got "jira")');
    expect(error!.message).toContain("  - ingestPrefix: is set but ingestBucket is not");
  });

  it("validates the routing with the deliverers' own schema, naming the bad field", () => {
    let error: ConfigError | null = null;
    try {
      loadConfig({ routing: { routes: [{ minSeverity: "urgent", outputs: ["slack"] }] } });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.problems.map((p) => p.field)).toEqual(["routing.routes.0.minSeverity"]);
    expect(problems({ routing: '{"routes":[{"outputs":["pager"]}]}' })).toEqual(["routing.routes.0.outputs.0"]);
  });

  it("checks the rules that span fields", () => {
    expect(problems({ eventsBatchSize: 1000, eventsBatchingWindowSeconds: 0 })).toEqual(["eventsBatchingWindowSeconds"]);
    expect(problems({ eventsBatchSize: 10, eventsBatchingWindowSeconds: 0 })).toEqual([]);
    expect(problems({ detectTimeoutSeconds: 900, eventsBatchingWindowSeconds: 300 })).toEqual([]); // 5,700 s < 12 h
    expect(problems({ ticketQueue: "create", ticketQueueKmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" })).toEqual(["ticketQueueKmsKeyArn"]);
    expect(problems({ secretsKmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" })).toEqual(["secretsKmsKeyArn"]);
    // A cross-field rule still runs when an unrelated field is bad.
    expect(problems({ stackName: "1bad", ingestSuffix: ".gz" }).sort()).toEqual(["ingestSuffix", "stackName"]);
  });

  it("validates identifiers", () => {
    expect(problems({ slackSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eql/slack-AbCdEf" })).toEqual([]);
    expect(problems({ slackSecret: "arn:aws:s3:::not-a-secret" })).toEqual(["slackSecret"]);
    expect(problems({ ingestBucket: "arn:aws:s3:::my-log-archive" })).toEqual([]);
    expect(problems({ ingestBucket: "My_Bucket" })).toEqual(["ingestBucket"]);
    expect(problems({ alarmTopic: "soc@example.com" })).toEqual([]);
    expect(problems({ alarmTopic: "arn:aws:sns:eu-west-1:111122223333:soc-alarms" })).toEqual([]);
    expect(problems({ forwarderPrincipals: "arn:aws:iam::444455556666:root" })).toEqual([]);
    expect(problems({ forwarderPrincipals: "vector" })).toEqual(["forwarderPrincipals.0"]);
    expect(problems({ reputationLists: "https://example.com/list.txt" })).toEqual(["reputationLists.0"]);
    expect(problems({ sweepSchedule: "every minute" })).toEqual(["sweepSchedule"]);
    expect(problems({ sweepSchedule: "cron(0/5 * * * ? *)" })).toEqual([]);
  });

  it("reads a config file named by the context, context keys winning", () => {
    const files: Record<string, string> = {
      "/deploy/prod.json": JSON.stringify({ stackName: "EqlProd", eventsBatchSize: 1000, slackSecret: "eql/slack" }),
      "/deploy/typo.json": JSON.stringify({ eventBatchSize: 1000 }),
      "/deploy/array.json": "[]",
    };
    const read = (p: string): string => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${p}'`);
      return text;
    };
    const c = loadConfig({ config: "prod.json", eventsBatchSize: "200" }, { cwd: "/deploy", readFile: read });
    expect(c.stackName).toBe("EqlProd");
    expect(c.eventsBatchSize).toBe(200);
    expect(c.slackSecret).toBe("eql/slack");
    expect(problems({ config: "typo.json" }, read)).toEqual(["eventBatchSize"]);
    expect(problems({ config: "array.json" }, read)).toEqual(["config"]);
    expect(problems({ config: "missing.json" }, read)).toEqual(["config"]);
  });
});
