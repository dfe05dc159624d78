/**
 * The Elastic detection rule model: a zod 4 schema of the TOML files of elastic/detection-rules
 * and the types inferred from it.
 *
 * Choices:
 * - Required are the fields that Elastic's own rule schema requires of every rule and that all
 *   2,192 corpus files carry: `[metadata]` creation_date, updated_date, maturity, and `[rule]`
 *   rule_id, name, description, type, severity, risk_score, author, license. Everything else is
 *   optional, because rule types differ (a machine_learning rule has no query or language, an
 *   ES|QL rule no index).
 * - What a rule type needs is checked per type (`rule.type` is the discriminator): an eql rule
 *   must have `language = "eql"` and a non-empty query, a threshold rule a `threshold` table, ...
 * - Every table is a "loose" object: known keys are typed and validated, unknown keys are kept
 *   as they are (Elastic adds fields between releases; we must not lose or reject them).
 * - Optional lists that downstream code iterates (`threat`, `tags`, `references`,
 *   `false_positives`) default to `[]`; optional scalars stay `undefined` when absent, because
 *   absence means something (no `interval` = Kibana's 5m default, no `timestamp_override` = use
 *   `@timestamp`), and defaults belong to the code that applies them.
 * - `from` and `interval` are validated as the forms the whole corpus uses (`now-9m`, `5m`),
 *   since the streaming engine turns them into windows.
 */
import * as z from "zod";

export const RULE_TYPES = ["eql", "query", "threshold", "esql", "machine_learning", "new_terms", "threat_match"] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Maturity levels of elastic/detection-rules. */
export const MATURITIES = ["development", "experimental", "beta", "production", "deprecated"] as const;
export type Maturity = (typeof MATURITIES)[number];

const text = z.string().min(1, "expected a non-empty string");
const strings = z.array(z.string());
const datePattern = /^\d{4}\/\d{2}\/\d{2}$/;
const date = z.string().regex(datePattern, 'expected a date like "2023/09/28"');

// ---------------------------------------------------------------------------------------------
// [metadata]

export const RuleMetadataSchema = z.looseObject({
  creation_date: date,
  updated_date: date,
  maturity: z.enum(MATURITIES),
  /** Integration package(s) the rule needs, e.g. `["endpoint"]`; a single string in a few files. */
  integration: z.union([z.string(), strings]).optional(),
  min_stack_version: z.string().optional(),
  min_stack_comments: z.string().optional(),
  deprecation_date: date.optional(),
});
export type RuleMetadata = z.output<typeof RuleMetadataSchema>;

// ---------------------------------------------------------------------------------------------
// MITRE ATT&CK mapping ([[rule.threat]])

const mitreEntry = { id: text, name: text, reference: z.string() };

export const ThreatSubtechniqueSchema = z.looseObject(mitreEntry);
export const ThreatTechniqueSchema = z.looseObject({
  ...mitreEntry,
  subtechnique: z.array(ThreatSubtechniqueSchema).optional(),
});
export const ThreatTacticSchema = z.looseObject(mitreEntry);
export const ThreatSchema = z.looseObject({
  framework: text,
  tactic: ThreatTacticSchema,
  technique: z.array(ThreatTechniqueSchema).optional(),
});
export type Threat = z.output<typeof ThreatSchema>;
export type ThreatTactic = z.output<typeof ThreatTacticSchema>;
export type ThreatTechnique = z.output<typeof ThreatTechniqueSchema>;
export type ThreatSubtechnique = z.output<typeof ThreatSubtechniqueSchema>;

// ---------------------------------------------------------------------------------------------
// Alert suppression and other [rule.*] tables

export const ALERT_SUPPRESSION_UNITS = ["s", "m", "h"] as const;

export const AlertSuppressionSchema = z.looseObject({
  group_by: z.array(text).min(1, "expected at least one field"),
  /** Absent: suppress per rule execution (in a stream: per `interval`, default 5m). */
  duration: z
    .looseObject({ value: z.number().int().positive(), unit: z.enum(ALERT_SUPPRESSION_UNITS) })
    .optional(),
  missing_fields_strategy: z.enum(["suppress", "doNotSuppress"]).optional(),
});
export type AlertSuppression = z.output<typeof AlertSuppressionSchema>;

export const InvestigationFieldsSchema = z.looseObject({ field_names: z.array(text) });

export const ThresholdSchema = z.looseObject({
  field: z.union([z.string(), strings]),
  value: z.number().int().min(1),
  cardinality: z.array(z.looseObject({ field: text, value: z.number().int() })).optional(),
});

export const NewTermsSchema = z.looseObject({
  field: text,
  value: z.array(text).min(1, "expected at least one field"),
  history_window_start: z.array(z.looseObject({ field: text, value: text })).optional(),
});

const anyTable = z.looseObject({});

// ---------------------------------------------------------------------------------------------
// [rule], one schema per type

const RuleBaseSchema = z.looseObject({
  rule_id: text,
  name: text,
  description: text,
  severity: z.enum(SEVERITIES),
  risk_score: z.number().int().min(0).max(100),
  author: strings,
  license: text,
  index: z.array(text).optional(),
  /** Look-back of each run, `now-<n><s|m|h|d>`. */
  from: z.string().regex(/^now-\d+[smhd]$/, 'expected a look-back like "now-9m"').optional(),
  /** Schedule, `<n><s|m|h|d>`; Kibana's default is 5m. */
  interval: z.string().regex(/^\d+[smhd]$/, 'expected an interval like "5m"').optional(),
  max_signals: z.number().int().positive().optional(),
  threat: z.array(ThreatSchema).default([]),
  note: z.string().optional(),
  setup: z.string().optional(),
  timestamp_override: text.optional(),
  event_category_override: text.optional(),
  alert_suppression: AlertSuppressionSchema.optional(),
  /** `"default"` on building-block rules, whose alerts are stored but not delivered. */
  building_block_type: text.optional(),
  tags: strings.default([]),
  references: strings.default([]),
  false_positives: strings.default([]),
  investigation_fields: InvestigationFieldsSchema.optional(),
  rule_name_override: text.optional(),
  timeline_id: z.string().optional(),
  timeline_title: z.string().optional(),
  enabled: z.boolean().optional(),
  severity_mapping: z.array(anyTable).optional(),
  risk_score_mapping: z.array(anyTable).optional(),
  exceptions_list: z.array(anyTable).optional(),
  filters: z.array(anyTable).optional(),
});

const kueryOrLucene = z.enum(["kuery", "lucene"]);

export const EqlRuleSchema = RuleBaseSchema.extend({
  type: z.literal("eql"),
  language: z.literal("eql"),
  query: text,
});
export const QueryRuleSchema = RuleBaseSchema.extend({
  type: z.literal("query"),
  language: kueryOrLucene,
  query: z.string(),
});
export const ThresholdRuleSchema = RuleBaseSchema.extend({
  type: z.literal("threshold"),
  language: kueryOrLucene,
  query: z.string(),
  threshold: ThresholdSchema,
});
export const EsqlRuleSchema = RuleBaseSchema.extend({
  type: z.literal("esql"),
  language: z.literal("esql"),
  query: text,
});
export const MachineLearningRuleSchema = RuleBaseSchema.extend({
  type: z.literal("machine_learning"),
  machine_learning_job_id: z.union([text, z.array(text).min(1)]),
  anomaly_threshold: z.number().min(0).max(100),
});
export const NewTermsRuleSchema = RuleBaseSchema.extend({
  type: z.literal("new_terms"),
  language: kueryOrLucene,
  query: z.string(),
  new_terms: NewTermsSchema,
});
export const ThreatMatchRuleSchema = RuleBaseSchema.extend({
  type: z.literal("threat_match"),
  language: kueryOrLucene,
  query: z.string(),
  threat_index: z.array(text).min(1),
  threat_mapping: z.array(z.looseObject({ entries: z.array(anyTable) })).min(1),
  threat_query: z.string().optional(),
  threat_language: kueryOrLucene.optional(),
  threat_indicator_path: z.string().optional(),
  threat_filters: z.array(anyTable).optional(),
});

export const RuleSchema = z.discriminatedUnion("type", [
  EqlRuleSchema,
  QueryRuleSchema,
  ThresholdRuleSchema,
  EsqlRuleSchema,
  MachineLearningRuleSchema,
  NewTermsRuleSchema,
  ThreatMatchRuleSchema,
]);
export type Rule = z.output<typeof RuleSchema>;
export type EqlRule = z.output<typeof EqlRuleSchema>;
export type QueryRule = z.output<typeof QueryRuleSchema>;
export type ThresholdRule = z.output<typeof ThresholdRuleSchema>;
export type EsqlRule = z.output<typeof EsqlRuleSchema>;
export type MachineLearningRule = z.output<typeof MachineLearningRuleSchema>;
export type NewTermsRule = z.output<typeof NewTermsRuleSchema>;
export type ThreatMatchRule = z.output<typeof ThreatMatchRuleSchema>;

// ---------------------------------------------------------------------------------------------
// [transform]: Kibana markdown plugins that a note refers to as $investigate_N / $osquery_N

export const InvestigateProviderSchema = z.looseObject({
  field: text,
  excluded: z.boolean(),
  queryType: text,
  /** May contain `{{field.name}}` templates filled from the alert. */
  value: z.string(),
  valueType: text,
});
export const InvestigateTransformSchema = z.looseObject({
  label: z.string(),
  description: z.string().optional(),
  /** OR of AND-groups of field conditions. */
  providers: z.array(z.array(InvestigateProviderSchema)),
  relativeFrom: z.string().optional(),
  relativeTo: z.string().optional(),
});
export const OsqueryTransformSchema = z.looseObject({
  label: z.string(),
  /** osquery SQL; may contain `{{field.name}}` templates. */
  query: text,
  ecs_mapping: z.record(z.string(), z.unknown()).optional(),
});
export const RuleTransformSchema = z.looseObject({
  investigate: z.array(InvestigateTransformSchema).optional(),
  osquery: z.array(OsqueryTransformSchema).optional(),
});
export type InvestigateProvider = z.output<typeof InvestigateProviderSchema>;
export type InvestigateTransform = z.output<typeof InvestigateTransformSchema>;
export type OsqueryTransform = z.output<typeof OsqueryTransformSchema>;
export type RuleTransform = z.output<typeof RuleTransformSchema>;

// ---------------------------------------------------------------------------------------------
// The whole file

export const RuleDocumentSchema = z.looseObject({
  metadata: RuleMetadataSchema,
  rule: RuleSchema,
  transform: RuleTransformSchema.optional(),
});
export type RuleDocument = z.output<typeof RuleDocumentSchema>;

export function isEqlRule(rule: Rule): rule is EqlRule {
  return rule.type === "eql";
}

/** Deprecated by maturity (the corpus also keeps deprecated rules under `rules/_deprecated/`). */
export function isDeprecated(metadata: RuleMetadata): boolean {
  return metadata.maturity === "deprecated";
}
