/**
 * An HTTP proxy in front of DynamoDB Local that counts requests per operation and fails the ones a
 * test chooses, the way DynamoDB does: 400 with a JSON `__type` (throttling) or 500. The SDK and
 * our adapter see real error responses, so their retries and our failure mapping are exercised.
 *
 * With `meterCapacity` it also asks DynamoDB Local for `ReturnConsumedCapacity: TOTAL` on every
 * operation that reports it and sums the read and write units (the DynamoDB benchmark's meter).
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
  /** Consumed capacity, with `meterCapacity` (transactions count double, as DynamoDB bills). */
  readonly readUnits: number;
  readonly writeUnits: number;
  resetCounts(): void;
  stop(): Promise<void>;
}

const WITH_CAPACITY = new Set(["Query", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "Scan", "BatchGetItem"]);
const READS = new Set(["Query", "GetItem", "Scan", "BatchGetItem"]);

export async function startDynamoProxy(target: string, options: { readonly meterCapacity?: boolean } = {}): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const units = { read: 0, write: 0 };
  const proxy: DynamoProxy = {
    endpoint: "",
    fault: () => null,
    counts: new Map(),
    failed: new Map(),
    get readUnits() {
      return units.read;
    },
    get writeUnits() {
      return units.write;
    },
    resetCounts() {
      proxy.counts.clear();
      proxy.failed.clear();
      units.read = 0;
      units.write = 0;
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
      const metered = options.meterCapacity === true && WITH_CAPACITY.has(operation);
      // DynamoDB Local does not check the payload signature, so the request can be amended.
      const sent = metered ? Buffer.from(JSON.stringify({ ...JSON.parse(body.toString("utf8")) as object, ReturnConsumedCapacity: "TOTAL" })) : body;
      const out = request({
        hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method,
        headers: { ...req.headers, host: upstream.host, "content-length": String(sent.length) },
      }, (up) => {
        if (!metered) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        up.on("data", (c: Buffer) => parts.push(c));
        up.on("end", () => {
          const text = Buffer.concat(parts);
          if (up.statusCode === 200) addCapacity(units, operation, JSON.parse(text.toString("utf8")) as { ConsumedCapacity?: unknown });
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(text);
        });
      });
      out.on("error", () => res.destroy());
      out.end(sent);
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

interface Capacity {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
}

function addCapacity(units: { read: number; write: number }, operation: string, response: { ConsumedCapacity?: unknown }): void {
  const list = (Array.isArray(response.ConsumedCapacity) ? response.ConsumedCapacity : response.ConsumedCapacity ? [response.ConsumedCapacity] : []) as Capacity[];
  for (const c of list) {
    if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
      units.read += c.ReadCapacityUnits ?? 0;
      units.write += c.WriteCapacityUnits ?? 0;
    } else if (READS.has(operation)) units.read += c.CapacityUnits ?? 0;
    else units.write += c.CapacityUnits ?? 0;
  }
}
