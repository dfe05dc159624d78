/**
 * Provider keys from Secrets Manager, against a small GetSecretValue server on 127.0.0.1 speaking
 * the JSON 1.1 protocol, reached through AWS_ENDPOINT_URL_SECRETS_MANAGER as a deployment would
 * reach the real service (the code under test builds its client with no endpoint of its own).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clearProviderKeysCache, loadProviderKeys, ProviderKeysError } from "../lib/triage/reputation/secrets.js";
import { startSecretsServer, type SecretsServer } from "./helpers/secrets-server.js";

const SECRETS = {
  "rep/keys": JSON.stringify({ abuseipdb: "abuse-key-123", greynoise: "gn-key-456" }),
  "rep/abuse-only": JSON.stringify({ abuseipdb: "abuse-key-123", other: "ignored" }),
  "rep/empty-object": "{}",
  "rep/not-json": "abuseipdb=abuse-key-123",
  "rep/array": "[\"abuse-key-123\"]",
  "rep/wrong-types": JSON.stringify({ abuseipdb: 12345, greynoise: ["secret-value-xyz"] }),
  "rep/blank": JSON.stringify({ abuseipdb: "  " }),
  "rep/binary": { SecretBinary: Buffer.from("abc").toString("base64") },
};

let server: SecretsServer;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  server = await startSecretsServer(SECRETS);
  const env = {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: server.endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_MAX_ATTEMPTS: "2",
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await server?.stop();
});

beforeEach(() => {
  clearProviderKeysCache();
  server.requests.length = 0;
  server.calls.length = 0;
  server.failNext(0);
});

async function failure(secretId: string): Promise<ProviderKeysError> {
  const err = await loadProviderKeys(secretId).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderKeysError);
  return err as ProviderKeysError;
}

describe("loadProviderKeys", () => {
  it("reads the keys with a signed JSON 1.1 GetSecretValue through AWS_ENDPOINT_URL_SECRETS_MANAGER", async () => {
    expect(await loadProviderKeys("rep/keys")).toEqual({ abuseipdb: "abuse-key-123", greynoise: "gn-key-456" });
    expect(server.calls).toEqual([{ target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", secretId: "rep/keys", signed: true }]);
    expect(await loadProviderKeys("rep/abuse-only")).toEqual({ abuseipdb: "abuse-key-123" });
    expect(await loadProviderKeys("rep/empty-object")).toEqual({});
  });

  it("reads each secret once per cold start; clearing forgets", async () => {
    const [a, b] = await Promise.all([loadProviderKeys("rep/keys"), loadProviderKeys("rep/keys")]);
    expect(a).toEqual(b);
    await loadProviderKeys("rep/keys");
    expect(server.requests).toHaveLength(1);
    clearProviderKeysCache();
    await loadProviderKeys("rep/keys");
    expect(server.requests).toHaveLength(2);
  });

  it("a missing secret is a clear not_found error", async () => {
    const err = await failure("rep/nope");
    expect(err.code).toBe("not_found");
    expect(err.message).toBe("reputation secret rep/nope not found (ResourceNotFoundException)");
    expect(err.name).toBe("ProviderKeysError");
    expect(err.cause).toBeDefined();
  });

  it("malformed secrets say what is wrong and never echo key material", async () => {
    const notJson = await failure("rep/not-json");
    expect(notJson).toMatchObject({ code: "malformed", message: expect.stringMatching(/^reputation secret rep\/not-json is not JSON; expected \{"abuseipdb"/) });
    expect(notJson.message).not.toContain("abuse-key-123");
    expect(await failure("rep/array")).toMatchObject({ code: "malformed", message: expect.stringMatching(/must be a JSON object/) });
    const types = await failure("rep/wrong-types");
    expect(types.message).toBe("reputation secret rep/wrong-types: abuseipdb must be a string; greynoise must be a string");
    expect(types.message).not.toContain("secret-value-xyz");
    expect(await failure("rep/blank")).toMatchObject({ message: "reputation secret rep/blank: abuseipdb must be a non-empty string" });
    expect(await failure("rep/binary")).toMatchObject({ code: "malformed", message: expect.stringMatching(/no SecretString/) });
    expect(await failure("")).toMatchObject({ code: "not_found" });
  });

  it("a failed read is not kept: the next call tries again", async () => {
    server.failNext(10);
    const err = await failure("rep/keys");
    expect(err.code).toBe("unavailable");
    expect(err.message).toMatch(/^reading reputation secret rep\/keys failed: InternalServiceError: Secrets Manager is having a bad day/);
    server.failNext(0);
    expect(await loadProviderKeys("rep/keys")).toEqual({ abuseipdb: "abuse-key-123", greynoise: "gn-key-456" });
  });
});
