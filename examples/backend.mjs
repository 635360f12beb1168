// What your application's backend does for uploads, as ~100 lines of Node
// with no dependencies, so that the examples beside it run for real:
//
//   GET  /config.json        where uploadgate answers, for the front end
//   GET  /api/upload-token   an upload token for the signed-in user, minted with
//                            an API key (`uploadgate keys create --scope tokens`)
//                            that never leaves this server
//   POST /api/upload/*       the tutorial's two calls, passed on to uploadgate's
//                            simple door with that user's token (as the app's
//                            own API route, or a dev server's proxy, would)
//   GET  anything else       a file of the example's directory
//
//   UPLOADGATE_URL=http://127.0.0.1:3000 UPLOADGATE_API_KEY=ugk_... \
//     node backend.mjs <example directory> [port]
//
// A real backend knows who is signed in; this one has one user, `demo`.

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";

const uploadgate = (process.env.UPLOADGATE_URL ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
const apiKey = process.env.UPLOADGATE_API_KEY;
const user = process.env.DEMO_USER ?? "demo";
const profile = process.env.UPLOADGATE_PROFILE;
const root = resolve(process.argv[2] ?? ".");
const port = Number(process.argv[3] ?? 5173);
if (!apiKey) throw new Error("set UPLOADGATE_API_KEY (uploadgate keys create --name app --scope tokens)");

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml" };

let cached; // { token, expiresAt }

/**
 * One token per user, reused until a minute before it expires: uploads a page
 * resumes after a reload must be found by the same token's grant.
 */
async function uploadToken() {
  if (cached && Date.parse(cached.expiresAt) - Date.now() > 60_000) return cached.token;
  const response = await fetch(`${uploadgate}/v1/upload-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ user, profile, ttlSeconds: 3600 }),
  });
  if (!response.ok) throw new Error(`uploadgate refused an upload token: ${response.status} ${await response.text()}`);
  cached = await response.json();
  return cached.token;
}

/** Passes a tutorial call on to uploadgate, with the user's token unless the page sent its own. */
async function forward(request, response, path) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const answer = await fetch(`${uploadgate}${path}`, {
    method: "POST",
    headers: {
      authorization: request.headers.authorization ?? `Bearer ${await uploadToken()}`,
      "content-type": request.headers["content-type"] ?? "application/json",
    },
    body: Buffer.concat(chunks),
  });
  response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
  response.end(Buffer.from(await answer.arrayBuffer()));
}

async function serveFile(response, pathname) {
  const path = resolve(join(root, decodeURIComponent(pathname)));
  if (path !== root && !path.startsWith(root + sep)) return response.writeHead(403).end();
  try {
    const body = await readFile(path.endsWith(sep) || path === root ? join(path, "index.html") : path);
    response.writeHead(200, { "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream" });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
}

createServer(async (request, response) => {
  const { pathname } = new URL(request.url, "http://localhost");
  try {
    if (pathname === "/config.json") {
      response.writeHead(200, { "content-type": "application/json" });
      return response.end(JSON.stringify({ uploadgate }));
    }
    if (pathname === "/api/upload-token") {
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return response.end(JSON.stringify({ token: await uploadToken() }));
    }
    if (request.method === "POST" && pathname.startsWith("/api/upload/")) return await forward(request, response, pathname);
    if (request.method !== "GET") return response.writeHead(405).end();
    return await serveFile(response, pathname);
  } catch (error) {
    console.error(error);
    if (!response.headersSent) response.writeHead(502, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "the upload service could not be reached", code: "bad_gateway" }));
  }
}).listen(port, "127.0.0.1", () => console.log(`example on http://127.0.0.1:${port}/ (uploadgate at ${uploadgate})`));
