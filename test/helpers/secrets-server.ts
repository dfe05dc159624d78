/** A GetSecretValue server on 127.0.0.1 (JSON 1.1), for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SecretsServer {
  readonly endpoint: string;
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function startSecretsServer(secrets: Readonly<Record<string, string>>): Promise<SecretsServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const id = (JSON.parse(body || "{}") as { SecretId?: string }).SecretId ?? "";
      requests.push(id);
      const send = (status: number, payload: object) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(payload));
      };
      const value = secrets[id];
      if (value === undefined) return send(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
      send(200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`, Name: id, VersionId: "v1", SecretString: value });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
