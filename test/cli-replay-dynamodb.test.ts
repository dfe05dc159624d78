// `triage replay --state dynamodb` against DynamoDB Local gives the same alerts as the in-memory store.
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, repoRoot, runCli } from "./helpers/cli.js";
import { startDynamoLocal, type TestDynamo } from "./helpers/dynamodb-local.js";

let work: string;
let cli: string;
let local: TestDynamo;
const EXAMPLE = path.join(repoRoot, "examples", "msiexec-remote-install.ndjson");
const ENV = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };

beforeAll(async () => {
  ({ work, cli } = await buildCli("cli-replay-ddb-"));
  local = await startDynamoLocal();
});

afterAll(async () => {
  await local?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(path.dirname(cli), { recursive: true, force: true });
});

const ids = (stdout: string) => stdout.split("\n").filter((l) => l.length > 0).map((l) => (JSON.parse(l) as { id: string }).id);

describe("triage replay --state dynamodb", () => {
  it("gives the same alerts as the in-memory store, on a table it creates", async () => {
    const memory = await runCli(cli, ["replay", "--quiet", "--batch-size", "50", EXAMPLE], { cwd: work });
    expect(memory.code, memory.stderr).toBe(0);
    const dynamo = await runCli(cli, ["replay", "--quiet", "--batch-size", "50", "--state", "dynamodb", "--table", "replay-state", "--endpoint", local.endpoint, "--create-table", EXAMPLE], { cwd: work, env: ENV });
    expect(dynamo.code, dynamo.stderr).toBe(0);
    expect(dynamo.stderr).toContain("table replay-state ready");
    expect(ids(dynamo.stdout)).toEqual(ids(memory.stdout));
    expect(ids(memory.stdout)).toHaveLength(1);
    // a second replay into the same table raises nothing new: alerts and claims are idempotent
    const again = await runCli(cli, ["replay", "--quiet", "--batch-size", "50", "--state", "dynamodb", "--table", "replay-state", "--endpoint", local.endpoint, EXAMPLE], { cwd: work, env: ENV });
    expect(again.code, again.stderr).toBe(0);
    expect(ids(again.stdout)).toEqual([]);
  });

  it("rejects inconsistent state options", async () => {
    expect((await runCli(cli, ["replay", "--state", "dynamodb", EXAMPLE], { cwd: work })).code).toBe(2);
    expect((await runCli(cli, ["replay", "--table", "t", EXAMPLE], { cwd: work })).code).toBe(2);
    expect((await runCli(cli, ["replay", "--state", "redis", EXAMPLE], { cwd: work })).code).toBe(2);
  });
});
