import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import type { SlackTarget } from "./slack-client.js";

/**
 * The Slack destination from Secrets Manager: JSON `{"webhookUrl": "https://hooks.slack.com/..."}`
 * or `{"botToken": "xoxb-...", "channel": "C0123"}`. Read at run time, never from the environment
 * or the template.
 */
const SlackSecretSchema = z.union([
  z.object({ webhookUrl: z.url({ protocol: /^https?$/ }) }).strict(),
  z.object({ botToken: z.string().min(1), channel: z.string().min(1), apiBaseUrl: z.url().optional() }).strict(),
]);

export class SlackSecretError extends Error {
  override readonly name = "SlackSecretError";
}

export function parseSlackSecret(text: string): SlackTarget {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SlackSecretError("the Slack secret is not JSON: expected {\"webhookUrl\"} or {\"botToken\", \"channel\"}");
  }
  const r = SlackSecretSchema.safeParse(json);
  if (!r.success) throw new SlackSecretError("the Slack secret needs {\"webhookUrl\": \"https://...\"} or {\"botToken\": \"xoxb-...\", \"channel\": \"C...\"}");
  return "webhookUrl" in r.data
    ? { mode: "webhook", url: r.data.webhookUrl }
    : { mode: "bot", token: r.data.botToken, channel: r.data.channel, ...(r.data.apiBaseUrl ? { baseUrl: r.data.apiBaseUrl } : {}) };
}

export async function loadSlackTarget(secretId: string, client: SecretsManagerClient = new SecretsManagerClient({})): Promise<SlackTarget> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (out.SecretString === undefined) throw new SlackSecretError(`secret ${secretId} has no SecretString`);
  return parseSlackSecret(out.SecretString);
}
