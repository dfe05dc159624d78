#!/usr/bin/env node
// Regenerates test/fixtures/guides/ from a copy of elastic/detection-rules:
//   guides.json.gz   every non-deprecated rule with a non-empty `note`: {path, rule_id, name, note,
//                    transform} (transform = the rule's [transform] table or null), plus counts
//   LICENSE.txt, NOTICE.txt   the corpus licence files, which must travel with the data
//
//   node scripts/extract-guides.mjs [CORPUS_DIR]
//
// CORPUS_DIR defaults to ../shared/corpus/detection-rules (see extract-rule-fixture.mjs). Rules
// under rules/_deprecated/ or with maturity = "deprecated" are left out, as in the other fixture:
// Kibana does not ship them, and the corpus README's 1,943 guides are the non-deprecated notes.
// Building blocks (rules_building_block/) are in.
//
// The counts are computed here with plain line regexes, deliberately not with the Markdown parser
// the tests check (lib/rules/guide.ts): a heading is an ATX line (`#`..`######`) outside fenced
// code, its text compared case-insensitively without a trailing colon. The investigation-steps
// titles are the ones lib/rules/guide.ts classifies as "investigation".
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parse } from "smol-toml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = path.resolve(process.argv[2] ?? path.join(root, "..", "shared", "corpus", "detection-rules"));
const outDir = path.join(root, "test", "fixtures", "guides");
const COMMIT = "14cf530f0d2177023092449cd9d9348b4a8884c2";

const HEADING = /^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const INVESTIGATION_TITLES = new Set(["possible investigation steps", "investigation steps", "triage and analysis steps"]);

async function walk(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (e.name.endsWith(".toml")) out.push(full);
  }
  return out;
}

/** The heading texts of a note, lower case, `&` as "and", no trailing colon or closing `#`s. */
function headings(note) {
  const out = [];
  let fence = null;
  for (const line of note.split("\n")) {
    const mark = FENCE.exec(line)?.[1];
    if (fence !== null) {
      if (mark !== undefined && mark[0] === fence[0] && mark.length >= fence.length) fence = null;
      continue;
    }
    if (mark !== undefined) {
      fence = mark;
      continue;
    }
    const m = HEADING.exec(line);
    if (m === null) continue;
    const text = m[1].replace(/[ \t]+#+$/, "").replace(/^#+[ \t]*/, "").replace(/[ \t]*:+$/, "");
    out.push(text.toLowerCase().replace(/&/g, "and").replace(/\s+/g, " ").trim());
  }
  return out;
}

const files = [...(await walk(path.join(corpus, "rules"))), ...(await walk(path.join(corpus, "rules_building_block")))]
  .map((f) => path.relative(corpus, f).split(path.sep).join("/"))
  .sort();

const rules = [];
for (const rel of files) {
  const doc = parse(await readFile(path.join(corpus, rel), "utf8"));
  if (doc.metadata?.maturity === "deprecated" || rel.startsWith("rules/_deprecated/")) continue;
  const note = doc.rule.note;
  if (typeof note !== "string" || note.trim() === "") continue;
  rules.push({ path: rel, rule_id: doc.rule.rule_id, name: doc.rule.name, note, transform: doc.transform ?? null });
}

const count = (pred) => rules.filter(pred).length;
const placeholderNotes = (kind) => count((r) => new RegExp(`\\$${kind}_\\d+`).test(r.note));
const counts = {
  notes: rules.length,
  notes_in_rules_building_block: count((r) => r.path.startsWith("rules_building_block/")),
  /** Notes with a heading whose text is one of the investigation-steps titles. */
  with_investigation_heading: count((r) => headings(r.note).some((h) => INVESTIGATION_TITLES.has(h))),
  with_possible_investigation_steps_heading: count((r) => headings(r.note).includes("possible investigation steps")),
  with_summary_heading: count((r) => headings(r.note).some((h) => /^investigating\b/.test(h))),
  with_false_positive_heading: count((r) => headings(r.note).some((h) => /\bfalse positives?\b/.test(h))),
  with_response_heading: count((r) => headings(r.note).some((h) => /^response\b/.test(h))),
  /** Notes with a quoted `> **Disclaimer**:` line and a quoted line that mentions generative AI. */
  with_ai_disclaimer: count((r) => /^>[ \t]*\*\*disclaimer\*\*/im.test(r.note) && /^>.*\bgenerative ai\b/im.test(r.note)),
  with_investigate_placeholder: placeholderNotes("investigate"),
  with_osquery_placeholder: placeholderNotes("osquery"),
  with_investigate_transform: count((r) => (r.transform?.investigate?.length ?? 0) > 0),
  with_osquery_transform: count((r) => (r.transform?.osquery?.length ?? 0) > 0),
};

const fixture = {
  source: {
    repository: "https://github.com/elastic/detection-rules",
    commit: COMMIT,
    license: "Elastic License 2.0 (LICENSE.txt); MIT notices in NOTICE.txt",
    selection: "non-empty rule.note, maturity != deprecated, not under rules/_deprecated/",
  },
  counts,
  rules,
};

await mkdir(outDir, { recursive: true });
await writeFile(path.join(outDir, "guides.json.gz"), gzipSync(JSON.stringify(fixture), { level: 9 }));
await copyFile(path.join(corpus, "LICENSE.txt"), path.join(outDir, "LICENSE.txt"));
await copyFile(path.join(corpus, "NOTICE.txt"), path.join(outDir, "NOTICE.txt"));

console.log(`extract-guides: ${JSON.stringify(counts)}`);
if (rules.length !== 1943) console.warn(`extract-guides: expected 1943 notes at commit ${COMMIT}, got ${rules.length}`);
