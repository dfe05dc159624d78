/**
 * The CDK app (cdk.json "app"): the configuration from the context, the stack, and the cdk-nag
 * AwsSolutions checks on every synth. A bad configuration stops here with one message naming
 * every bad field, before any construct exists.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ConfigError, loadConfig } from "../lib/infra/config.js";
import { EqlStreamTriageStack } from "../lib/infra/stack.js";

const app = new App();
try {
  const config = loadConfig(app.node.getAllContext() as Record<string, unknown>);
  new EqlStreamTriageStack(app, config.stackName, {
    config,
    description: "EQL stream detection and alert triage (eql-stream-triage)",
    // Environment-agnostic unless the CLI knows an account and region (cdk deploy with credentials).
    ...(process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
      : {}),
  });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
