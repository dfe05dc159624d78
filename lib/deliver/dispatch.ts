import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ItemStore } from "../store/items.js";
import { putTriageResult, type PutTriageResult } from "../store/triage-results.js";
import type { TriageResult } from "../triage/result.js";
import type { SlackJob } from "./digest.js";
import { routeAlert, type Output, type RoutingConfig } from "./routing.js";
import { buildTicketMessage, sendTicket, type TicketMessage } from "./ticket.js";

/**
 * What happens to a triage result: it is stored next to the alert (so that Slack delivery,
 * redelivery and the sweep read the same card), routed, the ticket message is sent directly, and a
 * Slack delivery is queued (Slack is slow and rate-limited, so it has its own queue and Lambda).
 *
 * Safe to repeat (stream redelivery, the sweep's re-triage): the store write is conditional (an
 * open result never replaces a retraction), tickets carry a stable dedup key, and the Slack
 * deliverer holds a lease and a done mark per alert and phase, so a repeat posts no second card.
 */

export interface TicketOutput {
  send(message: TicketMessage): Promise<void>;
}

export interface SlackOutput {
  enqueue(job: SlackJob): Promise<void>;
}

export interface DispatchDeps {
  readonly store: ItemStore;
  readonly routing: RoutingConfig;
  /** Null when no ticket queue is configured. */
  readonly ticket: TicketOutput | null;
  /** Null when Slack is not configured. */
  readonly slack: SlackOutput | null;
}

export type DispatchOutcome =
  | { readonly kind: "dispatched"; readonly outputs: readonly Output[]; readonly route: string; readonly ticket: boolean; readonly slack: boolean }
  /** Not sent anywhere: the store holds a newer result, or the alert is gone. */
  | { readonly kind: "skipped"; readonly reason: Exclude<PutTriageResult, { ok: true }>["reason"] };

export async function dispatchTriage(result: TriageResult, deps: DispatchDeps, options: { readonly expiresAt?: number } = {}): Promise<DispatchOutcome> {
  const stored = await putTriageResult(deps.store, result, options.expiresAt !== undefined ? { expiresAt: options.expiresAt } : {});
  if (!stored.ok) {
    if (stored.reason === "too_large") throw new Error(`triage result of alert ${result.alertId} is too large to store (${stored.bytes} bytes)`);
    return { kind: "skipped", reason: stored.reason };
  }
  const route = routeAlert(deps.routing, result);
  let ticket = false;
  let slack = false;
  if (route.outputs.includes("ticket") && deps.ticket) {
    await deps.ticket.send(buildTicketMessage(result));
    ticket = true;
  }
  if (route.outputs.includes("slack") && deps.slack) {
    await deps.slack.enqueue({ type: "alert", alertId: result.alertId, phase: result.status });
    slack = true;
  }
  return { kind: "dispatched", outputs: route.outputs, route: route.by, ticket, slack };
}

/** Tickets to an SQS queue (standard or FIFO by its URL). */
export function sqsTicketOutput(client: SQSClient, queueUrl: string): TicketOutput {
  return { send: async (message) => void (await sendTicket(client, queueUrl, message)) };
}

/** Slack jobs to the Slack delivery queue. */
export function sqsSlackOutput(client: SQSClient, queueUrl: string): SlackOutput {
  return {
    async enqueue(job) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
    },
  };
}
