/** Public API of lib/detect. */
export {
  compileIndexScope, eventStreamName, indexExpressions, indexToStreamName, type IndexScope, type IndexScopeOptions,
} from "./scope.js";
export {
  DEFAULT_RULE_INTERVAL, DurationError, parseDuration, parseLookback, ruleIntervalMs, suppressionConfig, suppressionGroup,
  type MissingFieldsStrategy, type SuppressionConfig, type SuppressionGroup, type SuppressionRuleFields, type SuppressionValue,
} from "./suppression-config.js";
