/** A GetSecretValue server on 127.0.0.1 (JSON 1.1), for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A secret: its string, or the stored fields themselves (e.g. `{ SecretBinary }`). */
export type SecretValue = string | { readonly SecretString?: string; readonly SecretBinary?: string };

export interface SecretsRequest {
  readonly target: string;
  readonly contentType: string;
  readonly secretId: string;
  /** Carried a SigV4 Authorization header. */
  readonly signed: boolean;
}

export interface SecretsServer {
  readonly endpoint: string;
  /** The secret ids asked for, in order. */
  readonly requests: string[];
  /** The same requests with what the SDK sent. */
  readonly calls: SecretsRequest[];
  /** Answers the next `n` requests with a 500 InternalServiceError. */
  failNext(n: number): void;
  stop(): Promise<void>;
}

export async function startSecretsServer(secrets: Readonly<Record<string, SecretValue>>): Promise<SecretsServer> {
  const requests: string[] = [];
  const calls: SecretsRequest[] = [];
  let failures = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const id = (JSON.parse(body || "{}") as { SecretId?: string }).SecretId ?? "";
      const target = String(req.headers["x-amz-target"] ?? "");
      requests.push(id);
      calls.push({ target, contentType: String(req.headers["content-type"] ?? ""), secretId: id, signed: String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256") });
      const send = (status: number, payload: object) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" });
        res.end(JSON.stringify(payload));
      };
      if (failures > 0) {
        failures--;
        return send(500, { __type: "InternalServiceError", message: "Secrets Manager is having a bad day" });
      }
      if (target !== "secretsmanager.GetSecretValue") return send(400, { __type: "InvalidRequestException", message: `unexpected target ${target}` });
      const value = Object.hasOwn(secrets, id) ? secrets[id] : undefined;
      if (value === undefined) return send(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
      const stored = typeof value === "string" ? { SecretString: value } : value;
      send(200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`, Name: id, VersionId: "v1", VersionStages: ["AWSCURRENT"], CreatedDate: 1714550400, ...stored });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    calls,
    failNext: (n) => {
      failures = n;
    },
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
