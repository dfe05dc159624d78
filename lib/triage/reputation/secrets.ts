/**
 * Reputation provider keys from AWS Secrets Manager: one secret (name or ARN in
 * `REPUTATION_SECRET_ID`) holding JSON `{"abuseipdb"?: "<key>", "greynoise"?: "<key>"}`. Read once
 * per cold start and kept (a failed read is not kept, so the next invocation tries again). The
 * client is the SDK's default, so `AWS_ENDPOINT_URL_SECRETS_MANAGER` points it elsewhere without
 * any code here knowing. Error messages never contain key material.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";

export interface ProviderKeys {
  readonly abuseipdb?: string;
  readonly greynoise?: string;
}

export type ProviderKeysErrorCode = "not_found" | "malformed" | "unavailable";

export class ProviderKeysError extends Error {
  override readonly name = "ProviderKeysError";
  constructor(readonly code: ProviderKeysErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const KeysSecret = z.object({
  abuseipdb: z.string().trim().min(1, "must be a non-empty string").optional(),
  greynoise: z.string().trim().min(1, "must be a non-empty string").optional(),
});

const cache = new Map<string, Promise<ProviderKeys>>();
let defaultClient: SecretsManagerClient | undefined;

/** The provider keys in secret `secretId`. Rejects with ProviderKeysError. */
export function loadProviderKeys(secretId: string, options: { readonly client?: SecretsManagerClient } = {}): Promise<ProviderKeys> {
  const cached = cache.get(secretId);
  if (cached) return cached;
  const client = options.client ?? (defaultClient ??= new SecretsManagerClient({}));
  const p = fetchKeys(client, secretId);
  cache.set(secretId, p);
  p.catch(() => cache.delete(secretId));
  return p;
}

/** Forgets the keys read so far (a rotated secret; tests). */
export function clearProviderKeysCache(): void {
  cache.clear();
}

async function fetchKeys(client: SecretsManagerClient, secretId: string): Promise<ProviderKeys> {
  if (secretId.trim() === "") throw new ProviderKeysError("not_found", "no reputation secret configured (empty secret id)");
  let secretString: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    secretString = out.SecretString;
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    if (name === "ResourceNotFoundException") {
      throw new ProviderKeysError("not_found", `reputation secret ${secretId} not found (ResourceNotFoundException)`, { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    throw new ProviderKeysError("unavailable", `reading reputation secret ${secretId} failed: ${name ? `${name}: ` : ""}${message}`, { cause: err });
  }
  if (secretString === undefined) throw new ProviderKeysError("malformed", `reputation secret ${secretId} has no SecretString (binary secrets are not supported)`);
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new ProviderKeysError("malformed", `reputation secret ${secretId} is not JSON; expected {"abuseipdb"?: "<key>", "greynoise"?: "<key>"}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ProviderKeysError("malformed", `reputation secret ${secretId} must be a JSON object {"abuseipdb"?: "<key>", "greynoise"?: "<key>"}`);
  }
  const parsed = KeysSecret.safeParse(json);
  if (!parsed.success) {
    // Paths and messages only: zod's issues would otherwise quote the received values.
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")} ${i.code === "invalid_type" ? "must be a string" : i.message}`);
    throw new ProviderKeysError("malformed", `reputation secret ${secretId}: ${problems.join("; ")}`);
  }
  const keys: { abuseipdb?: string; greynoise?: string } = {};
  if (parsed.data.abuseipdb !== undefined) keys.abuseipdb = parsed.data.abuseipdb;
  if (parsed.data.greynoise !== undefined) keys.greynoise = parsed.data.greynoise;
  return keys;
}
