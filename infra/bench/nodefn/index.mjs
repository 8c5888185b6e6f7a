// A Node.js 20 Lambda function equivalent to the bare Go handler: it builds
// an AWS SDK v3 DynamoDB client at init, then serves invocations through the
// Lambda Runtime API (the loop a provided runtime runs). The bench measures
// its init time next to the Go functions'.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});
const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;

async function handler(event) {
  void GetItemCommand;
  void client;
  return { statusCode: 200, body: JSON.stringify({ ok: true, path: event.path ?? null }) };
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  try {
    const result = await handler(event);
    await fetch(`${api}/invocation/${id}/response`, { method: "POST", body: JSON.stringify(result) });
  } catch (err) {
    await fetch(`${api}/invocation/${id}/error`, {
      method: "POST",
      body: JSON.stringify({ errorType: err.name, errorMessage: err.message }),
    });
  }
}
