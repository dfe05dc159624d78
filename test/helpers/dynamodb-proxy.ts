/**
 * An HTTP proxy in front of DynamoDB Local that counts requests per operation and fails the ones a
 * test chooses, the way DynamoDB does: 400 with a JSON `__type` (throttling) or 500. The SDK and
 * our adapter see real error responses, so their retries and our failure mapping are exercised.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  /** The operation, e.g. "Query", "BatchWriteItem", "TransactWriteItems". */
  readonly operation: string;
  readonly body: string;
}

export type Fault =
  | { readonly kind: "throttle" }
  | { readonly kind: "server_error" }
  /** Close the connection without an answer. */
  | { readonly kind: "reset" };

export interface DynamoProxy {
  readonly endpoint: string;
  /** Decides per request; null passes it through. Replace at any time. */
  fault: (req: ProxiedRequest) => Fault | null;
  /** Requests seen per operation (passed and failed), since the last reset. */
  readonly counts: Map<string, number>;
  readonly failed: Map<string, number>;
  resetCounts(): void;
  stop(): Promise<void>;
}

export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const proxy: DynamoProxy = {
    endpoint: "",
    fault: () => null,
    counts: new Map(),
    failed: new Map(),
    resetCounts() {
      proxy.counts.clear();
      proxy.failed.clear();
    },
    stop: async () => {},
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
      proxy.counts.set(operation, (proxy.counts.get(operation) ?? 0) + 1);
      const fault = proxy.fault({ operation, body: body.toString("utf8") });
      if (fault) {
        proxy.failed.set(operation, (proxy.failed.get(operation) ?? 0) + 1);
        switch (fault.kind) {
          case "throttle":
            res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
            res.end(JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#ThrottlingException", message: "Rate of requests exceeds the allowed throughput." }));
            return;
          case "server_error":
            res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
            res.end(JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: "Internal server error (injected)" }));
            return;
          case "reset":
            req.socket.destroy();
            return;
          default: {
            const never: never = fault;
            throw new Error(`unknown fault ${JSON.stringify(never)}`);
          }
        }
      }
      const out = request({
        hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method,
        headers: { ...req.headers, host: upstream.host },
      }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${port}`;
  proxy.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return proxy;
}
