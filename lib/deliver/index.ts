/** Public API of lib/deliver: Slack cards and posting, the alert-storm digest, tickets, routing, the terminal card. */
export {
  buildDigestMessage, buildGuideReplies, buildRetractionMessage, buildSlackCard, inlineMd, retractionPlan, SLACK_LIMITS,
  type CardOptions, type GuideReplyOptions, type MrkdwnObject, type PlainTextObject, type RetractionOptions, type RetractionPlan,
  type SlackBlock,
  type SlackMessage,
} from "./slack-card.js";
export {
  BACKTICK_LOOKALIKE, ELLIPSIS, escapeCode, escapeMrkdwn, md, plainText, renderMd, sanitize, truncateCodePoints, type Md,
} from "./slack-escape.js";
export {
  postSlackMessage, retryAfterSeconds, SLACK_API_BASE, type PostOptions, type PostResult, type SlackTarget,
} from "./slack-client.js";
export {
  admitAlert, claimDigestFlush, counterKey, decisionKey, digestKey, digestLimitFromEnv, flushDelaySeconds, markDigestPosted,
  releaseDigestLease, SlackJobSchema, type AdmitDecision, type AdmitInput, type DigestClaim, type DigestConfig, type DigestFlush,
  type DigestRef, type DigestSummary, type SlackJob,
} from "./digest.js";
export {
  buildTicketMessage, dedupKey, fitTicket, guideToMarkdown, inlineToMarkdown, isFifoQueue, MAX_TICKET_BYTES, sendTicket,
  serializeTicket, TICKET_SCHEMA, TICKET_VERSION, ticketAttributes, ticketDeduplicationId, TicketMessageSchema,
  type SentTicket, type TicketMessage,
} from "./ticket.js";
export {
  DEFAULT_ROUTING, OUTPUTS, parseRoutingConfig, routeAlert, RouteSchema, RoutingConfigSchema,
  type Output, type Route, type RouteDecision, type RoutingConfig, type RoutingParse,
} from "./routing.js";
export { renderTerminalCard, termSafe, type TerminalCardOptions } from "./terminal-card.js";
export { describeEvent, hostOf, userOf, type EventView, type RemoteEnd, type Signer } from "./event-fields.js";
