// Verifies one uploadgate delivery with the official Standard Webhooks
// library, as an application would. Reads {"headers": {...}, "body": "..."}
// on stdin and the secret in WEBHOOK_SECRET; prints the verified payload and
// exits 0, or prints why and exits 1.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { headers, body } = JSON.parse(input);
try {
  const payload = new Webhook(process.env.WEBHOOK_SECRET).verify(body, headers);
  process.stdout.write(JSON.stringify(payload));
} catch (error) {
  process.stdout.write(String(error.message ?? error));
  process.exit(1);
}
