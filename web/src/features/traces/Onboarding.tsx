/** What a new user needs when no call has been recorded yet: how to point an SDK here. */
export function Onboarding() {
  const origin = window.location.origin;
  return (
    <div className="onboarding">
      <h3>No traces yet</h3>
      <p>Point your SDK at Glassgate with one environment variable; your code does not change.</p>
      <pre className="code">
        {`# OpenAI
export OPENAI_BASE_URL=${origin}/openai/v1
# Anthropic
export ANTHROPIC_BASE_URL=${origin}/anthropic
# Azure OpenAI (with an azure upstream in glassgate.yaml)
export AZURE_OPENAI_ENDPOINT=${origin}/azure
# AWS Bedrock (with a key pair from \`glassgate keys create --aws\`)
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=${origin}/bedrock

python my_app.py`}
      </pre>
      <p className="muted">
        Add <code>x-glassgate-session-id</code>, <code>x-glassgate-user-id</code> or <code>x-glassgate-tags</code>{" "}
        headers to group calls into sessions and filter by user or tag. Each call appears here within a second.
      </p>
    </div>
  );
}
