/** Public API of lib/detect. */
export {
  compileIndexScope, eventStreamName, indexExpressions, indexToStreamName, type IndexScope, type IndexScopeOptions,
} from "./scope.js";
export {
  DEFAULT_RULE_INTERVAL, DurationError, parseDuration, parseLookback, ruleIntervalMs, suppressionConfig, suppressionGroup,
  type MissingFieldsStrategy, type SuppressionConfig, type SuppressionGroup, type SuppressionRuleFields, type SuppressionValue,
} from "./suppression-config.js";
export type { Alert, AlertMember } from "./alert.js";
export {
  DEFAULT_ENGINE_OPTIONS, detectBatch, sweepTimers,
  type BatchOutcome, type DetectContext, type DetectStats, type EngineOptions, type PartitionFailure,
} from "./engine.js";
export { loadDetectionRules, type LoadedDetectionRules } from "./load-rules.js";
export { project, TRIAGE_FIELDS, type Projection } from "./projection.js";
export { buildDetectionRule, DEFAULT_MAX_SIGNALS, threatOf, type AlertThreat, type DetectionRule, type RuleExtras } from "./rule.js";
