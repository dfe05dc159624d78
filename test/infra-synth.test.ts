/**
 * The stack with bundling: `npx cdk synth` as CI runs it (offline, local esbuild, cdk-nag), and
 * the bundled detect handler (the esbuild output the stack deploys, with its rules folder) loaded
 * in a fresh Node process, processing a real SQS event against DynamoDB Local and a local SQS.
 * A bundling mistake (a missing file, a broken banner, a dependency that does not bundle) fails here.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { createSqsServer } from "local-aws-sqs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES, LAMBDA_TASK_ROOT, PROJECT_ROOT, defaultEntry, type FunctionName } from "../lib/infra/bundling.js";
import { loadConfig } from "../lib/infra/config.js";
import { EqlStreamTriageStack } from "../lib/infra/stack.js";
import { createStateTable } from "../lib/store/dynamodb-table.js";
import { startDynamoLocal, testDynamoClient, type TestDynamo } from "./helpers/dynamodb-local.js";
import { seedAttack } from "./helpers/seed-attack.js";

const execFileAsync = promisify(execFile);
const MISSING = FUNCTION_NAMES.filter((n) => !existsSync(defaultEntry(n)));
const SEED_RULE_ID = "3e441bdb-596c-44fd-8628-2cfdf4516ada";

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }>;

/** The asset folder of each Lambda function in a synthesized template, by POWERTOOLS_SERVICE_NAME. */
function functionAssets(outdir: string, template: { Resources: Resources }): Map<string, { dir: string; env: Record<string, unknown> }> {
  const out = new Map<string, { dir: string; env: Record<string, unknown> }>();
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const env = (r.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
    const assetPath = r.Metadata?.["aws:asset:path"];
    if (typeof env.POWERTOOLS_SERVICE_NAME !== "string" || typeof assetPath !== "string") continue; // the CDK's own custom-resource functions
    out.set(env.POWERTOOLS_SERVICE_NAME, { dir: path.resolve(outdir, assetPath), env });
  }
  return out;
}

function expectBundle(dir: string, folders: readonly string[]): void {
  const bundle = path.join(dir, "index.mjs");
  expect(existsSync(bundle), bundle).toBe(true);
  const code = readFileSync(bundle, "utf8");
  // ESM with the createRequire banner, the AWS SDK inside (no bare import of it left).
  expect(code.startsWith("import { createRequire as __bundleCreateRequire } from 'node:module';")).toBe(true);
  expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
  for (const f of folders) {
    expect(existsSync(path.join(dir, f)), `${dir}/${f}`).toBe(true);
  }
  if (folders.includes("rules")) {
    const rules = readdirSync(path.join(dir, "rules"));
    expect(rules.some((f) => f.endsWith(".toml"))).toBe(true);
    // The Elastic License must travel with every copy of the rule files.
    expect(rules).toContain("LICENSE-Elastic-License-2.0.txt");
    // ... and the rules validated at synth (lib/rules/parse-cache.ts), one entry per rule file
    const cache = JSON.parse(readFileSync(path.join(dir, "rules", ".rules-cache.json"), "utf8")) as { version: number; entries: object };
    expect(cache.version).toBe(1);
    expect(Object.keys(cache.entries)).toHaveLength(rules.filter((f) => f.endsWith(".toml")).length);
  }
}

describe("cdk synth (the CLI, with bundling)", () => {
  it("synthesizes offline with the local esbuild, bundles every function with its folders, and passes cdk-nag", async (ctx) => {
    if (MISSING.length > 0) ctx.skip(`waiting for ${MISSING.map((n) => `functions/${n}.ts`).join(", ")}: cdk synth needs every handler file`);
    const outdir = mkdtempSync(path.join(tmpdir(), "infra-cdk-synth-"));
    try {
      const started = Date.now();
      // slackSecret makes the stack include deliver-slack, so all four functions are bundled.
      const { stderr } = await execFileAsync("npx", ["cdk", "synth", "--quiet", "--output", outdir, "-c", "slackSecret=eql/slack"], {
        cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: "true", NO_COLOR: "1" },
      });
      console.log(`cdk synth: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(stderr).not.toMatch(/AwsSolutions-|Validation failed|\[Error/);
      const template = JSON.parse(readFileSync(path.join(outdir, "EqlStreamTriage.template.json"), "utf8")) as { Resources: Resources };
      const assets = functionAssets(outdir, template);
      expect([...assets.keys()].sort()).toEqual([...FUNCTION_NAMES].sort());
      expectBundle(assets.get("detect")!.dir, ["rules"]);
      expectBundle(assets.get("sweep")!.dir, ["rules"]);
      expectBundle(assets.get("triage")!.dir, ["rules"]);
      expectBundle(assets.get("deliver-slack")!.dir, []);
      expect(existsSync(path.join(assets.get("deliver-slack")!.dir, "rules"))).toBe(false);
      const report = JSON.parse(readFileSync(path.join(outdir, "validation-report.json"), "utf8")) as { pluginReports: { summary?: { status?: string } }[] };
      for (const r of report.pluginReports) expect(r.summary?.status ?? "success").toBe("success");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe("the bundled detect handler", () => {
  let outdir: string;
  let asset: { dir: string; env: Record<string, unknown> };
  let dynamo: TestDynamo;
  let sqs: { endpoint: string; client: SQSClient; close: () => Promise<void> };

  beforeAll(async () => {
    dynamo = await startDynamoLocal();
    const server = await createSqsServer({ port: 0, hostname: "127.0.0.1" });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sqs = {
      endpoint,
      client: new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }),
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };

    // The stack as deployed, synthesized in-process with bundling on. A function whose handler is
    // not written yet is bundled from detect's entry (same asset, bundled once) so that the stack
    // is complete; only detect's asset is used below.
    outdir = mkdtempSync(path.join(tmpdir(), "infra-bundle-"));
    const app = new App({ outdir, context: { "aws:cdk:enable-asset-metadata": true } });
    const config = loadConfig({});
    const entries = Object.fromEntries(FUNCTION_NAMES.map((n) => [n, existsSync(defaultEntry(n)) ? defaultEntry(n) : defaultEntry("detect")])) as Record<FunctionName, string>;
    new EqlStreamTriageStack(app, config.stackName, { config, entries });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth();
    const template = assembly.getStackByName(config.stackName).template as { Resources: Resources };
    asset = functionAssets(outdir, template).get("detect")!;
  }, 300_000);

  afterAll(async () => {
    sqs?.client.destroy();
    await sqs?.close();
    await dynamo?.stop();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it("is one minified ESM file with the rules folder next to it", () => {
    expectBundle(asset.dir, ["rules"]);
    expect(asset.env.RULES_DIR).toBe(`${LAMBDA_TASK_ROOT}/rules`);
    console.log(`detect bundle: ${(statSync(path.join(asset.dir, "index.mjs")).size / 1024).toFixed(0)} KiB`);
  });

  it("detects the seed attack from a real SQS event against DynamoDB Local, rejects what it cannot read, and is idempotent on redelivery", async () => {
    const tableName = "eql-bundle-test";
    const ddb = testDynamoClient(dynamo.endpoint);
    await createStateTable(ddb, tableName);
    const rejectedUrl = (await sqs.client.send(new CreateQueueCommand({ QueueName: "rejected" }))).QueueUrl!;

    // The function's environment from the template, its references resolved to the local
    // resources and /var/task to the asset folder (where Lambda unpacks the same zip).
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(asset.env)) {
      if (typeof v === "string") env[k] = v.startsWith(`${LAMBDA_TASK_ROOT}/`) ? path.join(asset.dir, v.slice(LAMBDA_TASK_ROOT.length + 1)) : v;
      else if (k === "STATE_TABLE") env[k] = tableName;
      else if (k === "REJECTED_QUEUE_URL") env[k] = rejectedUrl;
      else throw new Error(`detect's environment has ${k} = ${JSON.stringify(v)}: resolve it here`);
    }

    const start = new Date(Date.now() - 120_000).toISOString();
    const attack = seedAttack({ start, idPrefix: "bundle" });
    const record = (messageId: string, body: string) => ({
      messageId, receiptHandle: `rh-${messageId}`, body,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(Date.now()), SenderId: "AIDAEXAMPLE", ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {}, md5OfBody: "0", eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:us-east-1:111122223333:events", awsRegion: "us-east-1",
    });
    const event = { Records: [record("m-attack", attack.map((e) => JSON.stringify(e)).join("\n")), record("m-garbage", "this is not an event")] };

    const first = await invoke(asset.dir, env, event);
    expect(first.result).toEqual({ batchItemFailures: [] });
    const second = await invoke(asset.dir, env, event); // a redelivery: nothing new
    expect(second.result).toEqual({ batchItemFailures: [] });

    const items = await scanAll(ddb, tableName);
    const alerts = items.filter((i) => i.sk?.S === "alert");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.ruleId?.S).toBe(SEED_RULE_ID);
    expect(alerts[0]!.status?.S).toBe("open");
    const rejected = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: rejectedUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ["All"] }));
    expect(rejected.Messages?.map((m) => m.Body)).toEqual(["this is not an event", "this is not an event"]); // at-least-once: once per delivery
    // Powertools wrote its EMF metrics to stdout in the configured namespace.
    expect(first.stdout).toContain('"Namespace":"EqlStreamTriage"');
    // The rules came from the cache built at synth, not from parsing their TOML again.
    expect(first.stdout).toMatch(/"rules loaded".*"cached":1/);
    ddb.destroy();
  }, 120_000);

  /** Runs the bundle's handler once in a fresh Node process (as a Lambda cold start does). */
  async function invoke(dir: string, env: Record<string, string>, event: unknown): Promise<{ result: unknown; stdout: string }> {
    const runner = [
      "const { handler } = await import(process.env.BUNDLE_URL);",
      "const context = { functionName: 'detect', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:detect',",
      "  memoryLimitInMB: '1024', awsRequestId: 'req-1', logGroupName: '/aws/lambda/detect', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,",
      "  getRemainingTimeInMillis: () => 60000 };",
      "const result = await handler(JSON.parse(process.env.TEST_EVENT), context);",
      "process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');",
    ].join("\n");
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      ...env,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: "detect",
      BUNDLE_URL: pathToFileURL(path.join(dir, "index.mjs")).href,
      TEST_EVENT: JSON.stringify(event),
    };
    // Run from an empty folder, as Lambda does from /var/task: nothing may resolve from the repository.
    const cwd = mkdtempSync(path.join(tmpdir(), "infra-run-"));
    try {
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", runner], { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        child.on("error", reject);
        child.on("close", (c) => resolve({ code: c ?? -1, stdout: out, stderr: err }));
      });
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      expect(line, `${stdout}\n${stderr}`).toBeDefined();
      return { result: JSON.parse(line!.slice("RESULT ".length)) as unknown, stdout };
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }
});

async function scanAll(client: ReturnType<typeof testDynamoClient>, tableName: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
