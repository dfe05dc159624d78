// The investigation guide parser over every note of the corpus (test/fixtures/guides, extracted by
// scripts/extract-guides.mjs, which counts headings with line regexes, independently of the
// Markdown parser), the seed rule's guide, hand-written notes for each construct, and hostile
// notes.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  classifyHeading, GUIDE_LIMITS, parseGuide, type Guide, type GuideBlock, type GuideSection, type Inline,
} from "../lib/rules/index.js";

interface FixtureRule {
  readonly path: string;
  readonly rule_id: string;
  readonly name: string;
  readonly note: string;
  readonly transform: unknown;
}

interface GuidesFixture {
  readonly source: { readonly commit: string };
  readonly counts: Readonly<Record<
    | "notes" | "with_investigation_heading" | "with_possible_investigation_steps_heading" | "with_false_positive_heading"
    | "with_response_heading" | "with_ai_disclaimer",
    number
  >>;
  readonly rules: readonly FixtureRule[];
}

const fixture = JSON.parse(
  gunzipSync(readFileSync(new URL("./fixtures/guides/guides.json.gz", import.meta.url))).toString("utf8"),
) as GuidesFixture;

const SEED_PATH = "rules/windows/initial_access_execution_remote_via_msiexec.toml";

function byPath(path: string): FixtureRule {
  const rule = fixture.rules.find((r) => r.path === path);
  if (rule === undefined) throw new Error(`${path} is not in the fixture`);
  return rule;
}

/** The text of inlines, without formatting. */
function plain(inline: readonly Inline[]): string {
  return inline.map((i) => {
    switch (i.type) {
      case "text":
      case "code":
        return i.value;
      case "emphasis":
      case "strong":
      case "link":
        return plain(i.children);
      case "query":
        return `{query ${i.ref}}`;
      default:
        return i satisfies never;
    }
  }).join("");
}

/** Every text of a block tree (inline text, code, link URLs), for the no-text-lost check. */
function blockTexts(blocks: readonly GuideBlock[], out: string[] = []): string[] {
  const inl = (xs: readonly Inline[]): void => {
    for (const x of xs) {
      if (x.type === "text" || x.type === "code") out.push(x.value);
      else if (x.type === "link") {
        out.push(x.url);
        inl(x.children);
      } else if (x.type === "emphasis" || x.type === "strong") inl(x.children);
    }
  };
  for (const b of blocks) {
    if (b.type === "paragraph") inl(b.inline);
    else if (b.type === "code") out.push(b.lang ?? "", b.value);
    else for (const item of b.items) {
      inl(item.inline);
      blockTexts(item.children, out);
    }
  }
  return out;
}

function section(guide: Guide, kind: GuideSection["kind"]): GuideSection {
  const found = guide.sections.find((s) => s.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} section in ${JSON.stringify(guide.sections.map((s) => s.title))}`);
  return found;
}

function onlyList(s: GuideSection): Extract<GuideBlock, { type: "list" }> {
  const [list] = s.blocks;
  if (list?.type !== "list") throw new Error(`${s.title}: expected a list, got ${list?.type}`);
  return list;
}

function maxDepth(blocks: readonly GuideBlock[]): number {
  const inlineDepth = (xs: readonly Inline[]): number =>
    Math.max(0, ...xs.map((x) => (x.type === "emphasis" || x.type === "strong" || x.type === "link" ? 1 + inlineDepth(x.children) : 1)));
  return Math.max(0, ...blocks.map((b) => {
    if (b.type === "paragraph") return 1 + inlineDepth(b.inline);
    if (b.type === "code") return 1;
    return 1 + Math.max(0, ...b.items.map((i) => 1 + Math.max(inlineDepth(i.inline), maxDepth(i.children))));
  }));
}

// ---------------------------------------------------------------------------------------------

describe("the guides fixture", () => {
  it("holds the 1,943 non-deprecated notes of the corpus commit", () => {
    expect(fixture.source.commit).toBe("14cf530f0d2177023092449cd9d9348b4a8884c2");
    expect(fixture.rules).toHaveLength(1943);
    expect(fixture.counts.notes).toBe(1943);
    expect(fixture.rules.some((r) => r.path.startsWith("rules/_deprecated/"))).toBe(false);
    expect(new Set(fixture.rules.map((r) => r.rule_id)).size).toBe(1943);
    // The corpus README's table: 1,885 notes with "Possible investigation steps", plus 33 with
    // "Investigation steps" and the one "Triage and analysis steps".
    expect(fixture.counts.with_possible_investigation_steps_heading).toBe(1885);
    expect(fixture.counts.with_investigation_heading).toBe(1919);
    expect(fixture.counts.with_ai_disclaimer).toBe(958);
  });
});

describe("parseGuide over every note of the corpus", () => {
  const guides = new Map<string, Guide>();
  let elapsedMs = 0;

  beforeAll(() => {
    const start = performance.now();
    for (const rule of fixture.rules) guides.set(rule.path, parseGuide(rule.note));
    elapsedMs = performance.now() - start;
    console.info(`parseGuide: ${fixture.rules.length} notes in ${elapsedMs.toFixed(0)} ms`);
  }, 600_000);

  it("parses every note as Markdown, within the limits", () => {
    expect(guides.size).toBe(1943);
    const degraded = [...guides].filter(([, g]) => g.plainText === true || g.truncated === true).map(([p]) => p);
    expect(degraded).toEqual([]);
    expect([...guides.values()].every((g) => g.sections.length > 0)).toBe(true);
  });

  it("yields investigation steps for exactly the notes with an investigation-steps heading (independent count)", () => {
    const withSteps = [...guides].filter(([, g]) => g.sections.some((s) => s.kind === "investigation" && s.blocks.length > 0));
    expect(withSteps.length).toBe(fixture.counts.with_investigation_heading);
  });

  it("yields false-positive and response sections for exactly the notes with those headings", () => {
    const count = (kind: GuideSection["kind"]): number => [...guides.values()].filter((g) => g.sections.some((s) => s.kind === kind)).length;
    expect(count("false_positives")).toBe(fixture.counts.with_false_positive_heading);
    expect(count("response")).toBe(fixture.counts.with_response_heading);
  });

  it("flags the generative-AI disclaimer on exactly the notes that carry it, and removes it", () => {
    const flagged = [...guides.values()].filter((g) => g.aiGenerated);
    expect(flagged.length).toBe(fixture.counts.with_ai_disclaimer);
    const leftovers = [...guides].filter(([, g]) => g.sections.some((s) => blockTexts(s.blocks).some((t) => /generative AI/i.test(t) && /disclaimer|this (investigation )?guide was created/i.test(t))));
    expect(leftovers.map(([p]) => p)).toEqual([]);
  });

  it("classifies headings whatever their level, case or trailing colon", () => {
    const titles = new Map<string, GuideSection["kind"]>();
    for (const g of guides.values()) for (const s of g.sections) titles.set(s.title, s.kind);
    expect(titles.get("Possible investigation steps")).toBe("investigation");
    expect(titles.get("Possible Investigation Steps")).toBe("investigation");
    expect(titles.get("Investigation steps")).toBe("investigation");
    expect(titles.get("Triage and analysis steps")).toBe("investigation");
    expect(titles.get("False Positive Analysis")).toBe("false_positives");
    expect(titles.get("False positives")).toBe("false_positives");
    expect(titles.get("Response and Remediation")).toBe("response");
    expect(titles.get("Response & Remediation")).toBe("response");
    expect(titles.get("Investigating Potential Remote File Execution via MSIEXEC")).toBe("summary");
    expect(titles.get("Setup")).toBe("other");
    expect(titles.get("Additional information")).toBe("other");
    // "## ## Triage and Analysis" in one note: the stray hashes are not part of the title.
    expect([...titles.keys()].some((t) => t.startsWith("#") || /:\s*$/.test(t))).toBe(false);
    // "#### Possible investigation steps" under "### Investigating ...": level 4 (505 notes) and 3.
    const levels = fixture.rules.filter((r) => /^#### Possible investigation steps/m.test(r.note));
    expect(levels.length).toBe(505);
    expect(levels.every((r) => guides.get(r.path)!.sections.some((s) => s.kind === "investigation"))).toBe(true);
  });

  it("loses no text: every word of a note outside headings and the disclaimer is in its guide", () => {
    const lost: string[] = [];
    for (const rule of fixture.rules) {
      const guide = guides.get(rule.path)!;
      const have = new Set<string>();
      for (const s of guide.sections) for (const t of [s.title, ...blockTexts(s.blocks)]) for (const w of t.match(/[A-Za-z0-9]+/g) ?? []) have.add(w);
      const body = rule.note
        .split("\n")
        .filter((line) => !/^ {0,3}#{1,6}\s/.test(line))
        // Ordered-list numbers are structure (`ordered: true`), not text.
        .map((line) => line.replace(/^(\s*)\d{1,9}[.)](?=\s)/, "$1"))
        .join("\n")
        .replace(/^>[ \t]*\*\*Disclaimer\*\*:?\s*\n(?:>.*\n?)*/gim, "");
      const missing = [...new Set(body.match(/[A-Za-z0-9]+/g) ?? [])].filter((w) => !have.has(w));
      if (missing.length > 0) lost.push(`${rule.path}: ${missing.slice(0, 5).join(" ")}`);
    }
    expect(lost).toEqual([]);
  });

  it("keeps nested bullets, inline code and links", () => {
    // "#### Triage and analysis steps" with lists three levels deep and KQL in backticks.
    const cmd = guides.get("rules/windows/execution_command_prompt_connecting_to_the_internet.toml")!;
    const steps = onlyList(section(cmd, "investigation"));
    const first = steps.items[0]!;
    expect(plain(first.inline)).toBe("Confirm the matched sequence and keep analysis tied to the correct process instance:");
    const second = first.children[0];
    expect(second?.type).toBe("list");
    if (second?.type !== "list") return;
    const pivots = second.items[1]!;
    expect(plain(pivots.inline)).toBe("Example KQL pivots:");
    const third = pivots.children[0];
    expect(third?.type === "list" ? third.items.map((i) => i.inline) : null).toEqual([
      [{ type: "code", value: 'process.entity_id:"<process_entity_id>" and event.category:process' }],
      [{ type: "code", value: 'process.entity_id:"<process_entity_id>" and event.category:network' }],
    ]);

    // An ordered list whose items hold bullets; a link in a blockquote "Note".
    const pbpaste = guides.get("rules/macos/credential_access_high_volume_of_pbpaste.toml")!;
    const body = section(pbpaste, "other");
    expect(body.title).toBe("Triage and analysis");
    const ordered = body.blocks.find((b) => b.type === "list");
    expect(ordered?.type === "list" && ordered.ordered).toBe(true);
    if (ordered?.type !== "list") return;
    expect(ordered.items).toHaveLength(5);
    expect(ordered.items[0]!.inline).toEqual([{ type: "strong", children: [{ type: "text", value: "Identify Frequency and Pattern of Execution:" }] }]);
    const nested = ordered.items[1]!.children[0];
    expect(nested?.type === "list" ? nested.items.map((i) => plain(i.inline)).slice(2) : null).toEqual(["$investigate_1", "$investigate_2"]);
    const note = body.blocks.find((b) => b.type === "paragraph" && plain(b.inline).startsWith("Note:"));
    expect(note?.type === "paragraph" ? note.inline.find((i) => i.type === "link") : null).toEqual({
      type: "link",
      url: "https://www.elastic.co/guide/en/security/current/interactive-investigation-guides.html",
      children: [{ type: "text", value: "Investigate Markdown Plugin" }],
    });
  });

  it("keeps a table as one item per row, raw HTML as text, and wrapped lines as spaces", () => {
    const vpn = guides.get("rules/integrations/aws/discovery_new_terms_vpn_asn_discovery_api_calls.toml")!;
    const table = section(vpn, "summary").blocks.find((b) => b.type === "list");
    expect(table?.type === "list" ? table.items.slice(0, 3).map((i) => plain(i.inline)) : null).toEqual([
      "ASN | Commonly associated operator (reference only)",
      "216025 | Mullvad VPN AB",
      "57138 | Mullvad supporting infrastructure",
    ]);
    const sandbox = guides.get("rules/windows/defense_evasion_run_virt_windowssandbox.toml")!;
    const steps = onlyList(section(sandbox, "investigation")).items.map((i) => plain(i.inline));
    expect(steps[0]).toContain('such as "<Networking>Enable</Networking>" or "<NetworkingEnabled>true>".');
    const para = section(vpn, "summary").blocks.find((b) => b.type === "paragraph" && plain(b.inline).startsWith("High-signal"));
    expect(para?.type === "paragraph" ? plain(para.inline) : "").not.toContain("\n");
  });
});

describe("the seed rule's guide", () => {
  const guide = parseGuide(byPath(SEED_PATH).note);

  it("has the summary, investigation, false positive and response sections, and the AI flag", () => {
    expect(guide.aiGenerated).toBe(true);
    expect(guide.sections.map((s) => [s.kind, s.title])).toEqual([
      ["summary", "Investigating Potential Remote File Execution via MSIEXEC"],
      ["investigation", "Possible investigation steps"],
      ["false_positives", "False positive analysis"],
      ["response", "Response and remediation"],
    ]);
    const summary = section(guide, "summary").blocks;
    expect(summary).toHaveLength(1);
    expect(summary[0]?.type === "paragraph" ? plain(summary[0].inline) : "").toMatch(/^MSIEXEC, the Windows Installer, facilitates/);
  });

  it("yields its six investigation steps in order", () => {
    const steps = onlyList(section(guide, "investigation"));
    expect(steps.ordered).toBe(false);
    expect(steps.items.map((i) => plain(i.inline))).toEqual([
      'Review the process start event for msiexec.exe to identify the command-line arguments used, focusing on the presence of the "/V" flag, which indicates a remote installation attempt.',
      "Examine the network connection attempts associated with msiexec.exe to determine the remote IP addresses or domains being contacted, and assess their reputation or any known associations with malicious activity.",
      "Investigate the child processes spawned by msiexec.exe, especially those not matching known benign executables or paths, to identify any suspicious or unexpected activity.",
      // Markdown reads the two `*` of "S-1-5-21-*" and "S-1-5-12-1-*" as emphasis (Kibana too).
      'Check the user ID associated with the msiexec.exe process to verify if it aligns with expected user behavior or if it indicates potential compromise, especially focusing on user IDs like "S-1-5-21-" or "S-1-5-12-1-".',
      "Analyze the code signature of any child processes to ensure they are trusted and expected, paying particular attention to any unsigned or untrusted executables.",
      "Correlate the alert with any recent phishing attempts or suspicious emails received by the user, as the MITRE ATT&CK technique T1566 (Phishing) is associated with this rule.",
    ]);
    expect(steps.items[3]!.inline[1]).toEqual({ type: "emphasis", children: [{ type: "text", value: '" or "S-1-5-12-1-' }] });
    expect(steps.items.every((i) => i.children.length === 0)).toBe(true);
    expect(onlyList(section(guide, "false_positives")).items).toHaveLength(5);
    expect(onlyList(section(guide, "response")).items).toHaveLength(7);
  });
});

// ---------------------------------------------------------------------------------------------

describe("classifyHeading", () => {
  it.each([
    ["Possible investigation steps", "investigation"],
    ["possible INVESTIGATION steps:", "investigation"],
    ["  Investigation Steps :  ", "investigation"],
    ["Triage and analysis steps", "investigation"],
    ["Investigating Foo via Bar", "summary"],
    ["investigating:", "summary"],
    ["False Positive Analysis", "false_positives"],
    ["Validation & False Positive Considerations", "false_positives"],
    ["Response & Remediation", "response"],
    ["Response and escalation", "response"],
    ["## Triage and Analysis", "other"],
    ["Setup", "other"],
    ["Investigation Guide: Microsoft Entra ID Conditional Access Policy (CAP) Modified", "other"],
    ["Responses we like", "other"],
    ["", "other"],
  ] as const)("%j is %s", (title, kind) => {
    expect(classifyHeading(title)).toBe(kind);
  });
});

describe("parseGuide on hand-written notes", () => {
  it("starts a section at any heading level and keeps the title as written, without a trailing colon", () => {
    const guide = parseGuide([
      "Intro before any heading.",
      "# Investigating Thing:",
      "About the thing.",
      "###### POSSIBLE INVESTIGATION STEPS: ##",
      "- step",
      // A setext heading is a heading too.
      "Response & remediation\n----------------------",
      "- isolate",
    ].join("\n\n"));
    expect(guide.sections.map((s) => [s.kind, s.title, s.blocks.length])).toEqual([
      ["other", "", 1],
      ["summary", "Investigating Thing", 1],
      ["investigation", "POSSIBLE INVESTIGATION STEPS", 1],
      ["response", "Response & remediation", 1],
    ]);
  });

  it("drops empty sections, and keeps a deeper unknown heading inside the steps as bold text", () => {
    const guide = parseGuide([
      "## Triage and analysis",
      "### Investigating X",
      "### Possible investigation steps",
      "- one",
      "#### Sub-step `A`",
      "- two",
      "### Key fields",
      "- f",
    ].join("\n\n"));
    expect(guide.sections.map((s) => s.title)).toEqual(["Possible investigation steps", "Key fields"]);
    expect(section(guide, "investigation").blocks).toEqual([
      { type: "list", ordered: false, items: [{ inline: [{ type: "text", value: "one" }], children: [] }] },
      { type: "paragraph", inline: [{ type: "strong", children: [{ type: "text", value: "Sub-step " }, { type: "code", value: "A" }] }] },
      { type: "list", ordered: false, items: [{ inline: [{ type: "text", value: "two" }], children: [] }] },
    ]);
  });

  it("recognizes the disclaimer as a blockquote or a paragraph, and only that", () => {
    const quoted = parseGuide("> **Disclaimer**:\n> This investigation guide was created using generative AI technology.\n\n### Possible investigation steps\n\n- a");
    expect(quoted.aiGenerated).toBe(true);
    expect(quoted.sections).toHaveLength(1);
    const para = parseGuide("**Disclaimer**: This guide was created by humans with the assistance of generative AI.\n\n## Response\n\n- b");
    expect(para.aiGenerated).toBe(true);
    expect(para.sections.map((s) => s.kind)).toEqual(["response"]);
    const other = parseGuide("> **Note**: generative AI is discussed here.\n\n## Setup\n\nx");
    expect(other.aiGenerated).toBe(false);
    expect(other.sections[0]!.blocks[0]).toEqual({
      type: "paragraph",
      inline: [{ type: "strong", children: [{ type: "text", value: "Note" }] }, { type: "text", value: ": generative AI is discussed here." }],
    });
  });

  it("converts every construct without losing text", () => {
    const guide = parseGuide([
      "## Possible investigation steps",
      "1. first *em* **strong** ~~struck~~ `code`",
      "   - nested [link](https://example.com/a?b=1) and <https://auto.example/x> and www.example.org",
      "     - deeper [ref link][r] ![alt text](https://img.example/i.png)",
      "2. second  ",
      "   hard break",
      "- [x] done task",
      "- [ ] open task",
      "```sql",
      "SELECT 1;",
      "```",
      "[js](javascript:alert(1)) [rel](/app/security) <b>bold?</b> 5 < 6",
      "Footnote[^n].",
      "[^n]: The note.",
      "***",
      "[r]: https://ref.example/",
    ].join("\n"));
    expect(guide.sections).toHaveLength(1);
    expect(section(guide, "investigation").blocks).toEqual([
      {
        type: "list",
        ordered: true,
        items: [
          {
            inline: [
              { type: "text", value: "first " }, { type: "emphasis", children: [{ type: "text", value: "em" }] }, { type: "text", value: " " },
              { type: "strong", children: [{ type: "text", value: "strong" }] }, { type: "text", value: " struck " }, { type: "code", value: "code" },
            ],
            children: [{
              type: "list",
              ordered: false,
              items: [{
                inline: [
                  { type: "text", value: "nested " }, { type: "link", url: "https://example.com/a?b=1", children: [{ type: "text", value: "link" }] },
                  { type: "text", value: " and " }, { type: "link", url: "https://auto.example/x", children: [{ type: "text", value: "https://auto.example/x" }] },
                  { type: "text", value: " and " }, { type: "link", url: "http://www.example.org", children: [{ type: "text", value: "www.example.org" }] },
                ],
                children: [{
                  type: "list",
                  ordered: false,
                  items: [{
                    inline: [
                      { type: "text", value: "deeper " }, { type: "link", url: "https://ref.example/", children: [{ type: "text", value: "ref link" }] },
                      { type: "text", value: " " }, { type: "link", url: "https://img.example/i.png", children: [{ type: "text", value: "alt text" }] },
                    ],
                    children: [],
                  }],
                }],
              }],
            }],
          },
          { inline: [{ type: "text", value: "second\nhard break" }], children: [] },
        ],
      },
      {
        type: "list",
        ordered: false,
        items: [
          { inline: [{ type: "text", value: "[x] done task" }], children: [] },
          { inline: [{ type: "text", value: "[ ] open task" }], children: [] },
        ],
      },
      { type: "code", lang: "sql", value: "SELECT 1;" },
      {
        type: "paragraph",
        inline: [{ type: "text", value: "js (javascript:alert(1)) rel (/app/security) <b>bold?</b> 5 < 6 Footnote[^n]." }],
      },
      { type: "paragraph", inline: [{ type: "text", value: "[^n]: The note." }] },
    ]);
  });

  it("gives no sections for an empty note", () => {
    expect(parseGuide("")).toEqual({ sections: [], aiGenerated: false });
    expect(parseGuide("\n\n   \n")).toEqual({ sections: [], aiGenerated: false });
  });
});

describe("parseGuide on hostile notes", () => {
  const allText = (g: Guide): string => g.sections.flatMap((s) => [s.title, ...blockTexts(s.blocks)]).join(" ");

  it("does not overflow the stack on deeply nested blockquotes or lists, and keeps the text", () => {
    for (const note of [">".repeat(20_000) + " deep quote", "- ".repeat(5_000) + "deep item", "## Response\n\n" + Array.from({ length: 120 }, (_, i) => `${"  ".repeat(i)}- level ${i}`).join("\n")]) {
      const guide = parseGuide(note);
      expect(guide.plainText).toBe(true);
      expect(allText(guide)).toContain(note.includes("level") ? "level 119" : "deep");
    }
    // Nesting within the limits but deeper than maxDepth: converted, then flattened into text.
    const nested = Array.from({ length: 30 }, (_, i) => `${"  ".repeat(i)}- level ${i}`).join("\n");
    const guide = parseGuide(nested);
    expect(guide.plainText).toBeUndefined();
    expect(maxDepth(guide.sections[0]!.blocks)).toBeLessThanOrEqual(2 * GUIDE_LIMITS.maxDepth + 2);
    expect(allText(guide)).toContain("level 29");
  });

  it("does not mistake a long rule of dashes or deep code indentation for nesting", () => {
    const guide = parseGuide(`## Setup\n\nabove\n\n${"-".repeat(100)}\n\n${" ".repeat(80)}indented code\n\nbelow`);
    expect(guide.plainText).toBeUndefined();
    expect(guide.sections[0]!.blocks).toEqual([
      { type: "paragraph", inline: [{ type: "text", value: "above" }] },
      { type: "code", lang: null, value: `${" ".repeat(76)}indented code` },
      { type: "paragraph", inline: [{ type: "text", value: "below" }] },
    ]);
  });

  it("falls back to plain text for delimiter and list-item floods, quickly, with sections from heading lines", () => {
    for (const flood of ["*_".repeat(10_000), "- a\n".repeat(2_000), "[".repeat(5_000) + "]".repeat(5_000)]) {
      const start = performance.now();
      const guide = parseGuide(`## Possible investigation steps:\n\n- real step\n\n${flood}\n\n## Other\n\ntail`);
      expect(performance.now() - start).toBeLessThan(2_000);
      expect(guide.plainText).toBe(true);
      expect(guide.sections.map((s) => [s.kind, s.title])).toEqual([["investigation", "Possible investigation steps"], ["other", "Other"]]);
      expect(allText(guide)).toContain("- real step");
    }
  });

  it("cuts a note over maxChars at a line break and says so", () => {
    const line = "- " + "x".repeat(98) + "\n";
    const note = "## Response\n\n" + line.repeat(Math.ceil(GUIDE_LIMITS.maxChars / line.length) + 10);
    const guide = parseGuide(note);
    expect(guide.truncated).toBe(true);
    const texts = blockTexts(guide.sections[0]!.blocks);
    expect(texts.every((t) => t === "x".repeat(98))).toBe(true);
    expect(texts.length).toBeLessThan(GUIDE_LIMITS.maxChars / 100);
  });

  it("resolves reference links through a Map: __proto__ and constructor labels are plain data", () => {
    const guide = parseGuide("## Setup\n\n[a][__proto__] [b][constructor] [c][toString]\n\n[__proto__]: https://proto.example/\n");
    expect(guide.sections[0]!.blocks[0]).toEqual({
      type: "paragraph",
      inline: [
        { type: "link", url: "https://proto.example/", children: [{ type: "text", value: "a" }] },
        { type: "text", value: " [b][constructor] [c][toString]" },
      ],
    });
    expect(({} as Record<string, unknown>)["url"]).toBeUndefined();
  });

  it("never throws and gives only known node types (property)", () => {
    const kinds = new Set(["summary", "investigation", "false_positives", "response", "other"]);
    const pieces = fc.constantFrom("# ", "## Possible investigation steps\n", "### Response:\n", "- ", "  - ", "1. ", "> ", "*", "_", "`", "```\n", "[", "](", ")", "<", ">", "|", "---\n", "\n", "\n\n", "$investigate_0", "text", " ", "\\", "~~", "**Disclaimer**: generative AI\n", "![", "[^1]", "<br>", "&amp;");
    fc.assert(fc.property(fc.array(pieces, { maxLength: 60 }), (parts) => {
      const guide = parseGuide(parts.join(""));
      for (const s of guide.sections) {
        expect(kinds.has(s.kind)).toBe(true);
        expect(s.blocks.length).toBeGreaterThan(0);
      }
      expect(JSON.parse(JSON.stringify(guide))).toEqual(guide);
    }), { numRuns: 300 });
  });
});
