// What your application's backend does for uploads, as ~100 lines of Node
// with no dependencies, so that the examples beside it run for real:
//
//   GET  /config.json        where uploadgate answers, for the front end
//   GET  /api/upload-token   an upload token for the signed-in user, minted with
//                            an API key that never leaves this server
//   POST /api/upload/*       the tutorial's two calls, passed on to uploadgate's
//                            simple door, the API key acting for the signed-in
//                            user (as the app's own API route would)
//   GET  anything else       a file of the example's directory
//
//   uploadgate keys create --name app --scope tokens --scope uploads   # prints ugk_...
//   UPLOADGATE_URL=http://127.0.0.1:8080 UPLOADGATE_API_KEY=ugk_... \
//     node backend.mjs <example directory> [port]
//
// A real backend knows who is signed in; this one has one user, `demo`.

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";

const uploadgate = (process.env.UPLOADGATE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const apiKey = process.env.UPLOADGATE_API_KEY;
const user = process.env.DEMO_USER ?? "demo";
const profile = process.env.UPLOADGATE_PROFILE;
const root = resolve(process.argv[2] ?? ".");
const port = Number(process.argv[3] ?? 5173);
if (!apiKey) throw new Error("set UPLOADGATE_API_KEY (uploadgate keys create --name app --scope tokens --scope uploads)");
/** The tutorial's bodies are a few hundred bytes. */
const MAX_BODY = 64 * 1024;
/**
 * A token is replaced this long before it expires. An upload is found only by
 * the token grant that created it, so this covers the uploads a page may
 * still be sending or resume (a real app might mint per upload instead).
 */
const MARGIN_MS = 30 * 60 * 1000;

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml" };

/** The last answer of POST /v1/upload-tokens, `{token, expiresAt}`: each call queues behind the one before, so one mint serves them all. */
let latest = Promise.resolve(undefined);

/** One token per user, reused until MARGIN_MS before it expires. */
function uploadToken() {
  latest = latest
    .catch(() => undefined)
    .then((current) => (current && Date.parse(current.expiresAt) - Date.now() > MARGIN_MS ? current : mint()));
  return latest.then((current) => current.token);
}

async function mint() {
  const response = await fetch(`${uploadgate}/v1/upload-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ user, profile, ttlSeconds: 4 * 3600 }),
  });
  if (!response.ok) throw new Error(`uploadgate refused an upload token: ${response.status}`);
  return response.json();
}

/**
 * Passes a tutorial call on to uploadgate with the API key, acting for the
 * signed-in user. The page's own credentials (a session cookie, its
 * Authorization header) stay here: they are the app's, not uploadgate's.
 */
async function forward(request, response, path) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY) return json(response, 413, { error: "the body is too large", code: "body_too_large" });
    chunks.push(chunk);
  }
  const answer = await fetch(`${uploadgate}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${apiKey}`,
      "uploadgate-user": user,
      "content-type": request.headers["content-type"] ?? "application/json",
    },
    body: Buffer.concat(chunks),
  });
  const headers = { "content-type": answer.headers.get("content-type") ?? "application/json" };
  if (answer.headers.has("retry-after")) headers["retry-after"] = answer.headers.get("retry-after");
  response.writeHead(answer.status, headers);
  response.end(Buffer.from(await answer.arrayBuffer()));
}

function json(response, status, body) {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}

async function serveFile(response, pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return response.writeHead(400).end();
  }
  const path = resolve(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return response.writeHead(403).end();
  try {
    const body = await readFile(path.endsWith(sep) || path === root ? join(path, "index.html") : path);
    response.writeHead(200, { "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
}

// Only names of this machine: another site's page must not reach the token
// route through a DNS name rebound to 127.0.0.1.
const HOSTS = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

createServer(async (request, response) => {
  if (!HOSTS.has(request.headers.host ?? "")) return response.writeHead(421).end();
  const { pathname } = new URL(request.url, "http://localhost");
  try {
    if (pathname === "/config.json") return json(response, 200, { uploadgate });
    if (pathname === "/api/upload-token") return json(response, 200, { token: await uploadToken() });
    if (request.method === "POST" && pathname.startsWith("/api/upload/")) return await forward(request, response, pathname);
    if (request.method !== "GET") return response.writeHead(405).end();
    return await serveFile(response, pathname);
  } catch (error) {
    console.error(error);
    if (response.headersSent) return response.end();
    json(response, 502, { error: "the upload service could not be reached", code: "bad_gateway" });
  }
}).listen(port, "127.0.0.1", () => console.log(`example on http://127.0.0.1:${port}/ (uploadgate at ${uploadgate})`));
