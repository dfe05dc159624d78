/**
 * A rule's investigation guide (the `note` Markdown) as structured sections: the summary
 * ("Investigating X"), the investigation steps, false positive analysis, response and
 * remediation, and any other headed section, with nested lists, inline code and links kept.
 *
 * The guide types live here, not in lib/triage, because modules depend inward (eql <- rules <-
 * detect <- triage) and the parser that builds them belongs with the rule model;
 * `lib/triage/result.ts` re-exports them as part of the triage result.
 *
 * Choices:
 * - The note is parsed with mdast-util-from-markdown plus GFM (tables, strikethrough, autolink
 *   literals, footnotes, task lists), never with regexes; a heading at the top level starts a
 *   section, whatever its level, case or trailing colon (see `classifyHeading`).
 * - Text before the first heading becomes an untitled "other" section; a section left with no
 *   blocks (the "## Triage and analysis" wrapper heading, a heading followed by another heading)
 *   is dropped, since it carries nothing a card could show.
 * - A heading deeper than an investigation, false-positive or response section and not itself
 *   one of the known kinds (e.g. "#### FullAccess (`Add-MailboxPermission`)" under "### Possible
 *   investigation steps") stays inside that section as a bold paragraph, so the steps are not cut
 *   off; under the summary or an "other" section it starts its own section.
 * - Elastic's generative-AI disclaimer (a top-level "**Disclaimer**: ... generative AI ..."
 *   blockquote or paragraph) is removed and kept as `aiGenerated`, so cards do not repeat it.
 * - Nothing the guide types cannot express is dropped silently: blockquotes become their content,
 *   tables become one list item per row, raw HTML stays as its literal text (the corpus writes
 *   `<pid>` and `<IP>` as placeholders), images become a link (or their alt text). Only thematic
 *   breaks and link reference definitions (used by the references) carry no text of their own.
 * - `$investigate_N` / `$osquery_N` placeholders stay plain text here; lib/triage resolves them
 *   from the rule's `[[transform.*]]` tables into `{type: "query"}` inlines.
 * - Robustness (notes are rule-author text, but a rule file is still input): micromark overflows
 *   the stack on deeply nested containers and is super-linear on long delimiter runs and on very
 *   many list items, so a note over the limits in `GUIDE_LIMITS` is cut (`truncated`) or split
 *   into sections line by line without Markdown (`plainText`). The conversion recurses at most
 *   `maxDepth` levels and flattens anything deeper into text, iteratively. Definitions are looked
 *   up in a Map, never on a plain object.
 */
import type { Nodes, PhrasingContent, Root, RootContent, Table } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

// ---------------------------------------------------------------------------------------------
// Types (re-exported by lib/triage/result.ts)

export type Inline =
  | { readonly type: "text"; readonly value: string }
  | { readonly type: "code"; readonly value: string }
  | { readonly type: "emphasis" | "strong"; readonly children: readonly Inline[] }
  | { readonly type: "link"; readonly url: string; readonly children: readonly Inline[] }
  /** A resolved `$investigate_N` / `$osquery_N` placeholder: an index into `TriageResult.queries`. */
  | { readonly type: "query"; readonly ref: number };

export interface GuideListItem {
  readonly inline: readonly Inline[];
  /** Nested lists, code blocks and further paragraphs of the item. */
  readonly children: readonly GuideBlock[];
}

export type GuideBlock =
  | { readonly type: "paragraph"; readonly inline: readonly Inline[] }
  | { readonly type: "list"; readonly ordered: boolean; readonly items: readonly GuideListItem[] }
  | { readonly type: "code"; readonly lang: string | null; readonly value: string };

export type GuideSectionKind = "summary" | "investigation" | "false_positives" | "response" | "other";

export interface GuideSection {
  readonly kind: GuideSectionKind;
  /** The heading as written (without trailing colon); the summary's is e.g. "Investigating X". */
  readonly title: string;
  readonly blocks: readonly GuideBlock[];
}

export interface Guide {
  readonly sections: readonly GuideSection[];
  /** The note carries Elastic's generative-AI disclaimer (kept as a flag, not repeated in cards). */
  readonly aiGenerated: boolean;
  /** The note was longer than `GUIDE_LIMITS.maxChars` and only its beginning is here. */
  readonly truncated?: boolean;
  /**
   * The note was too complex to parse as Markdown within the limits (deep nesting, thousands of
   * emphasis delimiters or list items): sections come from heading lines, paragraphs are raw text.
   */
  readonly plainText?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Limits

/**
 * Bounds that keep one note's parse fast and stack-safe. The corpus maxima (1,943 notes) are
 * 9,938 characters, 160 emphasis/bracket delimiters, 78 list-item lines and a 14-character
 * container prefix; each limit leaves several times that headroom.
 */
export const GUIDE_LIMITS = {
  /** Characters parsed; a longer note is cut at the last line break before the limit. */
  maxChars: 32_768,
  /** `*`, `_`, `~`, `[`, `]` in the note: micromark's delimiter matching is quadratic in them. */
  maxDelimiters: 2_000,
  /** Lines that start a list item: micromark is super-linear in the items of one list. */
  maxListItems: 400,
  /** `>`, list markers and the indentation among them at the start of a line (micromark recurses per container). */
  maxContainerPrefix: 64,
  /** Levels of blocks and inlines converted as structure; deeper content becomes text. */
  maxDepth: 24,
} as const;

// ---------------------------------------------------------------------------------------------
// Heading classification

/**
 * Headings that name the investigation steps, normalized (lower case, `&` as "and", no trailing
 * colon). "Triage and analysis steps" is the one note that names its steps that way.
 * `scripts/extract-guides.mjs` counts the same titles with a line regex, independently.
 */
const INVESTIGATION_TITLES: ReadonlySet<string> = new Set([
  "possible investigation steps",
  "investigation steps",
  "triage and analysis steps",
]);

/** Lower case, `&` as "and", collapsed spaces, no leading `#`s (a "## ## X" typo) or trailing colon. */
export function normalizeHeading(title: string): string {
  return cleanTitle(title).toLowerCase().replace(/&/g, "and").replace(/\s+/g, " ");
}

/** The heading as shown: trimmed, without a stray leading `#` run or a trailing colon. */
function cleanTitle(title: string): string {
  return title.trim().replace(/^#+\s*/, "").replace(/\s*:+$/, "").trim();
}

/** The kind of section a heading starts, by its text alone. */
export function classifyHeading(title: string): GuideSectionKind {
  const t = normalizeHeading(title);
  if (/^investigating\b/.test(t)) return "summary";
  if (INVESTIGATION_TITLES.has(t)) return "investigation";
  // "False positive analysis", "False Positives", "Validation & False Positive Considerations".
  if (/\bfalse positives?\b/.test(t)) return "false_positives";
  // "Response and remediation", "Response & Remediation", "Response recommendations", "Response".
  if (/^response\b/.test(t)) return "response";
  return "other";
}

// ---------------------------------------------------------------------------------------------
// parseGuide

/**
 * GFM: tables, strikethrough, autolink literals, footnotes, task lists. Built once, on the first
 * guide parsed, not at import: a bundle that never parses a guide (detect) then leaves this module
 * and the Markdown parser out, and a cold start that does not parse one does not build them.
 */
let markdownOptions: { extensions: ReturnType<typeof gfm>[]; mdastExtensions: ReturnType<typeof gfmFromMarkdown>[] } | undefined;

/**
 * Parses a rule's `note`; an empty note gives no sections. No note makes it throw: the parser's
 * stack overflow is caught, and anything else thrown would be a bug here (an unknown node type).
 */
export function parseGuide(note: string): Guide {
  let text = note;
  let truncated = false;
  if (text.length > GUIDE_LIMITS.maxChars) {
    const cut = text.lastIndexOf("\n", GUIDE_LIMITS.maxChars);
    text = text.slice(0, cut > 0 ? cut : GUIDE_LIMITS.maxChars);
    truncated = true;
  }
  const flags = truncated ? { truncated: true } : {};
  if (tooComplex(text)) return { ...plainGuide(text), ...flags, plainText: true };
  let tree: Root;
  try {
    tree = fromMarkdown(text, (markdownOptions ??= { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] }));
  } catch (err) {
    // The limits should keep micromark within the stack; if some input still overflows it, the
    // note is still shown, as plain text.
    if (err instanceof RangeError) return { ...plainGuide(text), ...flags, plainText: true };
    throw err;
  }
  return { ...guideFromTree(tree), ...flags };
}

function tooComplex(text: string): boolean {
  let delimiters = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    // * _ ~ [ ]
    if (ch === 42 || ch === 95 || ch === 126 || ch === 91 || ch === 93) delimiters++;
  }
  if (delimiters > GUIDE_LIMITS.maxDelimiters) return true;
  let items = 0;
  for (const line of text.split("\n")) {
    // Container markers (`>`, a list marker followed by a space) with the indentation around
    // them, which is how nested lists nest. Indentation alone is code or continuation text, and a
    // line of dashes is a thematic break, not 70 nested lists.
    const lead = /^(?:[ \t>]|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))*/.exec(line)?.[0] ?? "";
    const prefix = /[^ \t]/.test(lead) ? lead.length : 0;
    if (prefix > GUIDE_LIMITS.maxContainerPrefix) return true;
    if (/^[ \t>]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/.test(line)) items++;
  }
  return items > GUIDE_LIMITS.maxListItems;
}

interface DraftSection {
  readonly kind: GuideSectionKind;
  readonly title: string;
  /** Heading depth (1-6); 0 for the text before the first heading. */
  readonly depth: number;
  readonly blocks: GuideBlock[];
}

/** Kinds whose deeper "other" headings stay inside them (see the module comment). */
const ABSORBING: ReadonlySet<GuideSectionKind> = new Set(["investigation", "false_positives", "response"]);

function guideFromTree(tree: Root): Guide {
  const definitions = new Map<string, string>();
  collectDefinitions(tree, definitions);
  const cx: Context = { definitions };
  const drafts: DraftSection[] = [];
  let current: DraftSection | null = null;
  let aiGenerated = false;
  for (const node of tree.children) {
    if (node.type === "heading") {
      const title = cleanTitle(plainText(node));
      const kind = classifyHeading(title);
      if (current !== null && kind === "other" && ABSORBING.has(current.kind) && node.depth > current.depth) {
        current.blocks.push(headingParagraph(node.children, cx));
        continue;
      }
      current = { kind, title, depth: node.depth, blocks: [] };
      drafts.push(current);
      continue;
    }
    if ((node.type === "blockquote" || node.type === "paragraph") && isAiDisclaimer(node)) {
      aiGenerated = true;
      continue;
    }
    if (current === null) {
      current = { kind: "other", title: "", depth: 0, blocks: [] };
      drafts.push(current);
    }
    current.blocks.push(...convertBlock(node, cx, 0));
  }
  const sections = drafts
    .filter((d) => d.blocks.length > 0)
    .map((d): GuideSection => ({ kind: d.kind, title: d.title, blocks: d.blocks }));
  return { sections, aiGenerated };
}

/** Elastic's "**Disclaimer**: This investigation guide was created using generative AI ..." */
function isAiDisclaimer(node: Nodes): boolean {
  const text = plainText(node).trim();
  return /^disclaimer\b/i.test(text) && /\bgenerative ai\b/i.test(text);
}

function collectDefinitions(tree: Root, out: Map<string, string>): void {
  // Iterative: definitions may sit inside lists and blockquotes of any depth.
  const stack: Nodes[] = [tree];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.type === "definition") {
      // The first definition of a label wins (CommonMark).
      if (!out.has(node.identifier)) out.set(node.identifier, node.url);
    } else if ("children" in node) {
      for (const child of node.children) stack.push(child);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface Context {
  /** Link reference definitions by normalized identifier. */
  readonly definitions: ReadonlyMap<string, string>;
}

function convertBlocks(nodes: readonly RootContent[], cx: Context, depth: number): GuideBlock[] {
  return nodes.flatMap((n) => convertBlock(n, cx, depth));
}

function convertBlock(node: RootContent, cx: Context, depth: number): GuideBlock[] {
  if (depth >= GUIDE_LIMITS.maxDepth) return textParagraph(plainText(node));
  switch (node.type) {
    case "paragraph":
      return nonEmptyParagraph(convertInlines(node.children, cx, depth + 1));
    case "heading":
      // A heading inside a list or blockquote: kept as bold text where it stands.
      return [headingParagraph(node.children, cx, depth + 1)];
    case "list":
      return [{
        type: "list",
        ordered: node.ordered === true,
        items: node.children.map((item) => listItem(item.children, item.checked, cx, depth + 1)),
      }];
    case "listItem":
      // Only reached for a list item outside a list, which mdast does not produce.
      return [{ type: "list", ordered: false, items: [listItem(node.children, node.checked, cx, depth + 1)] }];
    case "blockquote":
      // No quote block in the guide types: the quoted blocks stand on their own.
      return convertBlocks(node.children, cx, depth + 1);
    case "code":
      return [{ type: "code", lang: node.lang ?? null, value: node.value }];
    case "html":
      // Raw HTML is shown as the literal text it is; renderers escape it like any other text.
      return textParagraph(node.value);
    case "table":
      return [tableList(node, cx, depth + 1)];
    case "tableRow":
    case "tableCell":
      // Only reached outside a table, which mdast does not produce.
      return textParagraph(plainText(node));
    case "footnoteDefinition": {
      const [first, ...rest] = convertBlocks(node.children, cx, depth + 1);
      const label: Inline = { type: "text", value: `[^${node.label ?? node.identifier}]: ` };
      if (first?.type === "paragraph") return [{ type: "paragraph", inline: mergeText([label, ...first.inline]) }, ...rest];
      return [{ type: "paragraph", inline: [label] }, ...(first === undefined ? [] : [first]), ...rest];
    }
    case "thematicBreak":
    case "definition":
    case "yaml":
      // No text of its own (definitions are resolved into the links that use them; front
      // matter is not enabled, so `yaml` never occurs).
      return [];
    case "text":
    case "inlineCode":
    case "emphasis":
    case "strong":
    case "delete":
    case "link":
    case "linkReference":
    case "image":
    case "imageReference":
    case "footnoteReference":
    case "break":
      // Phrasing content where a block belongs (mdast wraps it in paragraphs; defensive).
      return nonEmptyParagraph(convertInlines([node], cx, depth + 1));
    default:
      return assertNever(node);
  }
}

function listItem(children: readonly RootContent[], checked: boolean | null | undefined, cx: Context, depth: number): GuideListItem {
  // A task list checkbox is kept as text, so "[x] done" does not read as an open step.
  const box: Inline[] = checked === true ? [{ type: "text", value: "[x] " }] : checked === false ? [{ type: "text", value: "[ ] " }] : [];
  const [first, ...rest] = children;
  if (first?.type === "paragraph") {
    return { inline: mergeText([...box, ...convertInlines(first.children, cx, depth + 1)]), children: convertBlocks(rest, cx, depth) };
  }
  return { inline: box, children: convertBlocks(children, cx, depth) };
}

/** A table as one list item per row (header row first), cells separated by " | ". */
function tableList(table: Table, cx: Context, depth: number): GuideBlock {
  const items = table.children.map((row): GuideListItem => {
    const inline: Inline[] = [];
    row.children.forEach((cell, i) => {
      if (i > 0) inline.push({ type: "text", value: " | " });
      inline.push(...convertInlines(cell.children, cx, depth + 1));
    });
    return { inline: mergeText(inline), children: [] };
  });
  return { type: "list", ordered: false, items };
}

function headingParagraph(children: readonly PhrasingContent[], cx: Context, depth = 0): GuideBlock {
  return { type: "paragraph", inline: [{ type: "strong", children: convertInlines(children, cx, depth + 1) }] };
}

function nonEmptyParagraph(inline: Inline[]): GuideBlock[] {
  return inline.length === 0 ? [] : [{ type: "paragraph", inline }];
}

function textParagraph(value: string): GuideBlock[] {
  return value.trim() === "" ? [] : [{ type: "paragraph", inline: [{ type: "text", value }] }];
}

// ---------------------------------------------------------------------------------------------
// Inlines

function convertInlines(nodes: readonly PhrasingContent[], cx: Context, depth: number): Inline[] {
  return mergeText(nodes.flatMap((n) => convertInline(n, cx, depth)));
}

function convertInline(node: PhrasingContent, cx: Context, depth: number): Inline[] {
  if (depth >= GUIDE_LIMITS.maxDepth) return [{ type: "text", value: plainText(node) }];
  switch (node.type) {
    case "text":
      // A soft line break reads as a space (CommonMark); many notes wrap their lines at ~120
      // columns, and a renderer must not turn that wrapping into line breaks.
      return [{ type: "text", value: node.value.replace(/[ \t]*\r?\n[ \t]*/g, " ") }];
    case "inlineCode":
      return [{ type: "code", value: node.value }];
    case "emphasis":
    case "strong":
      return [{ type: node.type, children: convertInlines(node.children, cx, depth + 1) }];
    case "delete":
      // No strikethrough inline: the text is kept, unstruck.
      return convertInlines(node.children, cx, depth + 1);
    case "link":
      return link(node.url, convertInlines(node.children, cx, depth + 1));
    case "linkReference": {
      const children = convertInlines(node.children, cx, depth + 1);
      const url = cx.definitions.get(node.identifier);
      return url === undefined ? children : link(url, children);
    }
    case "image":
      return link(node.url, node.alt ? [{ type: "text", value: node.alt }] : []);
    case "imageReference": {
      const alt: Inline[] = node.alt ? [{ type: "text", value: node.alt }] : [];
      const url = cx.definitions.get(node.identifier);
      return url === undefined ? alt : link(url, alt);
    }
    case "html":
      return [{ type: "text", value: node.value }];
    case "break":
      return [{ type: "text", value: "\n" }];
    case "footnoteReference":
      return [{ type: "text", value: `[^${node.label ?? node.identifier}]` }];
    default:
      return assertNever(node);
  }
}

/**
 * A link keeps its URL when it is absolute http(s) or mailto; any other target (relative,
 * `javascript:`, `data:`) is shown as text after the label, so no renderer turns it into a live
 * link, and no text is lost.
 */
function link(url: string, children: Inline[]): Inline[] {
  if (/^(?:https?:\/\/|mailto:)/i.test(url)) return [{ type: "link", url, children: children.length > 0 ? children : [{ type: "text", value: url }] }];
  if (url === "") return children;
  return mergeText([...children, { type: "text", value: children.length > 0 ? ` (${url})` : url }]);
}

/** Joins adjacent text inlines and drops empty ones. */
function mergeText(inline: readonly Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const node of inline) {
    if (node.type !== "text") {
      out.push(node);
      continue;
    }
    if (node.value === "") continue;
    const last = out[out.length - 1];
    if (last?.type === "text") out[out.length - 1] = { type: "text", value: last.value + node.value };
    else out.push(node);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text

/** Block-level nodes, whose texts are separated by a space when flattened. */
const BLOCK_TYPES: ReadonlySet<string> = new Set([
  "paragraph", "heading", "list", "listItem", "blockquote", "code", "html", "table", "tableRow", "tableCell", "footnoteDefinition",
]);

/**
 * The text of a subtree, iteratively (mdast-util-to-string recurses, and this is also the
 * fallback for subtrees deeper than `maxDepth`). Image alt text counts; block texts are joined
 * with a space so paragraphs do not run together.
 */
function plainText(root: Nodes): string {
  const parts: string[] = [];
  const stack: Nodes[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (BLOCK_TYPES.has(node.type) && parts.length > 0 && !/\s$/.test(parts[parts.length - 1]!)) parts.push(" ");
    if (node.type === "image" || node.type === "imageReference") parts.push(node.alt ?? "");
    else if (node.type === "break") parts.push("\n");
    else if ("value" in node) parts.push(node.value);
    else if ("children" in node) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return parts.join("").trim();
}

// ---------------------------------------------------------------------------------------------
// Plain-text fallback

/**
 * Sections from ATX heading lines (outside fenced code), paragraphs from the text between blank
 * lines, kept raw. Linear in the note, no recursion: for notes over the Markdown limits.
 */
function plainGuide(text: string): Guide {
  const drafts: { kind: GuideSectionKind; title: string; blocks: GuideBlock[] }[] = [];
  let current: (typeof drafts)[number] | null = null;
  let aiGenerated = false;
  let paragraph: string[] = [];
  let fence: string | null = null;
  const flush = (): void => {
    const value = paragraph.join("\n").trim();
    paragraph = [];
    if (value === "") return;
    const unquoted = value.replace(/^[ \t]*>[ \t]?/gm, "").replace(/\*\*/g, "");
    if (/^disclaimer\b/i.test(unquoted) && /\bgenerative ai\b/i.test(unquoted)) {
      aiGenerated = true;
      return;
    }
    if (current === null) {
      current = { kind: "other", title: "", blocks: [] };
      drafts.push(current);
    }
    current.blocks.push({ type: "paragraph", inline: [{ type: "text", value }] });
  };
  for (const line of text.split("\n")) {
    const fenceMark = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== null) {
      if (fenceMark !== undefined && fenceMark[0] === fence[0] && fenceMark.length >= fence.length) fence = null;
      paragraph.push(line);
      continue;
    }
    if (fenceMark !== undefined) {
      fence = fenceMark;
      paragraph.push(line);
      continue;
    }
    const heading = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$/.exec(line);
    if (heading !== null) {
      flush();
      const title = cleanTitle(heading[1] ?? "");
      current = { kind: classifyHeading(title), title, blocks: [] };
      drafts.push(current);
    } else if (line.trim() === "") {
      flush();
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return { sections: drafts.filter((d) => d.blocks.length > 0), aiGenerated };
}

function assertNever(node: never): never {
  throw new Error(`unexpected Markdown node ${JSON.stringify((node as { type?: unknown }).type)}`);
}
