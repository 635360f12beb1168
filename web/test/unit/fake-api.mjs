// A scripted stand-in for uploadgate and its storage on loopback, for the
// client's unit tests: each test says what to answer and reads what came.
import { createServer } from "node:http";

export async function fakeApi(handler) {
  const requests = [];
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const seen = { method: request.method, url: request.url, headers: request.headers, body };
    requests.push(seen);
    const answer = (await handler(seen, requests)) ?? { status: 404 };
    if (answer.destroy) {
      request.socket.destroy();
      return;
    }
    const headers = { "content-type": "application/json", ...answer.headers };
    response.writeHead(answer.status, headers);
    response.end(answer.json === undefined ? answer.body : JSON.stringify(answer.json));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}
