/**
 * A real SQS API for tests: local-aws-sqs (JSON 1.0 protocol, which client-sqs v3 speaks) on a
 * free port of 127.0.0.1, in-process. Quirks (toolchain notes): use `AttributeNames`, not
 * `MessageSystemAttributeNames`, and `WaitTimeSeconds: 0`.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import type { AddressInfo } from "node:net";
import { createSqsServer } from "local-aws-sqs";

export interface TestSqs {
  readonly endpoint: string;
  readonly client: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** Every message currently visible in the queue (receives until empty; hides what it read). */
  drain(queueUrl: string): Promise<Message[]>;
  stop(): Promise<void>;
}

export async function startSqs(): Promise<TestSqs> {
  const server = await createSqsServer({ port: 0, hostname: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  return {
    endpoint,
    client,
    async createQueue(name, attributes = {}) {
      const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      return out.QueueUrl!;
    },
    async drain(queueUrl) {
      const all: Message[] = [];
      for (;;) {
        const out = await client.send(new ReceiveMessageCommand({
          QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300,
          MessageAttributeNames: ["All"], AttributeNames: ["All"],
        }));
        if (!out.Messages || out.Messages.length === 0) return all;
        all.push(...out.Messages);
      }
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
