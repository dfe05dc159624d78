/**
 * `triage replay --triage`: triage and delivery rendering after detection, offline. Each alert
 * (and retraction) gets a triage result with the rule's guide and offline-list reputation, a
 * readable card on standard output, and its Slack payload and ticket message as JSON files in the
 * output folder; `--slack-webhook URL` also posts the cards for real.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildSlackCard, buildRetractionMessage } from "../../lib/deliver/slack-card.js";
import { postSlackMessage } from "../../lib/deliver/slack-client.js";
import { renderTerminalCard } from "../../lib/deliver/terminal-card.js";
import { buildTicketMessage, serializeTicket } from "../../lib/deliver/ticket.js";
import type { Alert } from "../../lib/detect/alert.js";
import { loadRules } from "../../lib/rules/load.js";
import type { ItemStore } from "../../lib/store/items.js";
import { reputationCache } from "../../lib/store/reputation-cache.js";
import { buildTriageResult, ruleContexts, type RuleContext } from "../../lib/triage/build.js";
import { parseListSpecs } from "../../lib/triage/reputation/lists.js";
import type { ReputationProvider } from "../../lib/triage/reputation/provider.js";
import { createReputationProviders } from "../../lib/triage/reputation/setup.js";
import { UsageError, type CliIo } from "./command.js";

export interface ReplayTriageOptions {
  readonly rulePaths: readonly string[];
  /** `--lists`: REPUTATION_LISTS syntax, `[name[:verdict]=]path-or-s3-uri`, comma-separated. */
  readonly lists: string | undefined;
  readonly outDir: string;
  readonly slackWebhook: string | undefined;
  /** The cache lives in the replay's store (memory or DynamoDB). */
  readonly store: ItemStore;
  readonly color: boolean;
}

export interface ReplayTriage {
  triage(alert: Alert, nowMs: number): Promise<void>;
  readonly written: () => number;
}

export async function replayTriage(options: ReplayTriageOptions, io: CliIo): Promise<ReplayTriage> {
  let specs;
  try {
    specs = parseListSpecs(options.lists ?? "", { baseDir: io.cwd });
  } catch (err) {
    throw new UsageError(`--lists: ${(err as Error).message}`);
  }
  for (const spec of specs) {
    if (spec.location.kind === "file" && !existsSync(spec.location.path)) throw new UsageError(`--lists: cannot read ${spec.location.path}`);
  }
  const { providers, lists } = createReputationProviders({ keys: null, lists: specs, listSources: {} });
  const rules: Map<string, RuleContext> = ruleContexts((await loadRules(options.rulePaths)).flatMap((r) => (r.success ? [r.rule] : [])));
  await mkdir(options.outDir, { recursive: true });
  if (lists.length > 0) io.stderr(`reputation: offline lists ${specs.map((s) => s.name).join(", ")}\n`);
  let written = 0;
  const cache = reputationCache(options.store);
  const provider: readonly ReputationProvider[] = providers;
  return {
    written: () => written,
    async triage(alert, nowMs) {
      const result = await buildTriageResult(alert, rules.get(alert.rule.id) ?? null, {
        providers: provider, cache, nowMs,
        onWarning: (message) => io.stderr(`triage: ${message}\n`),
      });
      io.stdout(renderTerminalCard(result, { color: options.color }) + "\n");
      const base = path.join(options.outDir, `${alert.id}${alert.status === "retracted" ? ".retracted" : ""}`);
      const card = alert.status === "retracted" ? buildRetractionMessage(result, { threaded: false }) : buildSlackCard(result);
      await writeFile(`${base}.slack.json`, JSON.stringify(card, null, 2) + "\n");
      await writeFile(`${base}.ticket.json`, serializeTicket(buildTicketMessage(result)) + "\n");
      written++;
      if (options.slackWebhook) {
        const posted = await postSlackMessage({ mode: "webhook", url: options.slackWebhook }, card);
        if (posted.kind !== "ok") io.stderr(`slack: alert ${alert.id} not posted: ${posted.kind === "failed" ? posted.error : posted.kind === "retry_after" ? `rate limited for ${posted.seconds}s` : "timeout"}\n`);
      }
    },
  };
}
