/** `triage redrive`: what the sweep does for missed triage, on demand; and DLQ messages moved back. */
import { SQSClient } from "@aws-sdk/client-sqs";
import { moveMessages } from "../../lib/deliver/dlq-move.js";
import { retriageDue } from "../../lib/deliver/retriage.js";
import { RETRIAGE_DELAY_MINUTES } from "../../lib/detect/keys.js";
import { ENV } from "../../lib/infra/env.js";
import { logger } from "../../functions/observability.js";
import { triageAlert, triageRuntime } from "../../functions/triage-runtime.js";
import { EXIT_FAILED, EXIT_OK, parseCommandLine, UsageError, type Command } from "./command.js";

const HELP = `Usage: triage redrive [--retriage] [--hours N] [--dlq URL --to URL [--max N]]

Recovers work the pipeline could not finish, with the deployed configuration taken from the
environment (the same variables the functions read: ${ENV.table}, ${ENV.slackQueueUrl},
${ENV.ticketQueueUrl}, ${ENV.routing}, ${ENV.reputationSecretId}, ${ENV.reputationLists}, and the
usual AWS_REGION / credentials).

  --retriage        triage again every alert (and retraction) of the last --hours whose
                    triage never completed: what the sweep does every minute, on demand
  --hours N         how far back --retriage looks (default 24, the reminders' lifetime)
  --dlq URL         move the messages of this dead-letter queue ...
  --to URL          ... back to this queue (e.g. the Slack delivery DLQ to the Slack queue,
                    the events DLQ to the events queue); bodies and attributes are kept
  --max N           move at most N messages
  -h, --help        show this help

Exit status: 0 when everything was redriven, 1 when something failed (reported), 2 usage error.
`;

export const redriveCommand: Command = {
  name: "redrive",
  summary: "re-triage alerts whose triage never completed, and move DLQ messages back",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandLine(args, {
      retriage: { type: "boolean" }, hours: { type: "string" }, dlq: { type: "string" }, to: { type: "string" }, max: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (!values.retriage && values.dlq === undefined) throw new UsageError("give --retriage and/or --dlq URL --to URL");
    if ((values.dlq === undefined) !== (values.to === undefined)) throw new UsageError("--dlq and --to go together");
    const hours = values.hours === undefined ? 24 : Number(values.hours);
    if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 30) throw new UsageError(`--hours needs a number of hours up to 720, got "${values.hours}"`);
    const max = values.max === undefined ? undefined : Number(values.max);
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new UsageError(`--max needs a positive integer, got "${values.max}"`);

    let failed = false;
    if (values.retriage) {
      if (!process.env[ENV.table]) throw new UsageError(`--retriage needs ${ENV.table} (and the rest of the deployed configuration) in the environment`);
      const rt = await triageRuntime(logger);
      const now = Date.now();
      const r = await retriageDue(rt.store, now, async (record) => {
        await triageAlert(rt, record, Date.now(), logger);
        io.stderr(`re-triaged alert ${record.alert.id} (${record.alert.rule.name}, ${record.alert.status})\n`);
      }, {
        // Reminders sit a few minutes ahead of their alert: on demand, take the future ones too.
        fromMinute: Math.floor(now / 60_000) - Math.ceil(hours * 60), throughMinute: Math.floor(now / 60_000) + RETRIAGE_DELAY_MINUTES, maxLookbackMinutes: Math.ceil(hours * 60),
      });
      for (const f of r.failures) io.stderr(`alert ${f.alertId}: ${f.error}\n`);
      io.stderr(`retriage: ${r.checked} reminders checked, ${r.retriaged} alerts triaged again, ${r.failures.length} failed\n`);
      failed ||= r.failures.length > 0;
    }
    if (values.dlq !== undefined && values.to !== undefined) {
      const r = await moveMessages(new SQSClient({}), values.dlq, values.to, { ...(max !== undefined ? { max } : {}), onProgress: (n) => n % 100 === 0 && io.stderr(`... ${n} moved\n`) });
      io.stderr(`redrive: ${r.moved} messages moved from ${values.dlq} to ${values.to}${r.failed > 0 ? `, ${r.failed} could not be sent (left in the DLQ)` : ""}\n`);
      failed ||= r.failed > 0;
    }
    return failed ? EXIT_FAILED : EXIT_OK;
  },
};
