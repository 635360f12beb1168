// A real OpenID provider for uploadgate's tests: oidc-provider (certified),
// on loopback, issuing RS256 and ES256 JWT access tokens by the client
// credentials grant for the audience "uploadgate".
//   node provider.mjs PORT KEYS_FILE    serves
//   node provider.mjs rotate KEYS_FILE  new signing keys first, the old ones still published
//   node provider.mjs retire KEYS_FILE  only the newest keys published
//   node provider.mjs rekey KEYS_FILE   new key material under the same key ids
// KEYS_FILE holds its signing keys; when it does not exist, new ones (with
// new key ids) are made and written there, with the private keys in DER for
// tests that sign tokens of their own with them. Restarting on the same port
// after `rotate`, then `retire`, is a key rotation as a provider does it.
// GET /test/jwks-fetches counts the key set's fetches.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import Provider from "oidc-provider";

const [port, keysFile] = process.argv.slice(2);
if (!port || !keysFile) {
  console.error("usage: node provider.mjs PORT KEYS_FILE");
  process.exit(2);
}

function makeKeys() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = (pair, alg) => ({ ...pair.privateKey.export({ format: "jwk" }), kid: `${alg}-${randomUUID()}`, alg, use: "sig" });
  return {
    jwks: [jwk(rsa, "RS256"), jwk(ec, "ES256")],
    rsaPkcs1Der: rsa.privateKey.export({ format: "der", type: "pkcs1" }).toString("base64"),
    rsaPublicPem: rsa.publicKey.export({ format: "pem", type: "spki" }),
    ecPkcs8Der: ec.privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
  };
}

if (port === "rotate" || port === "retire" || port === "rekey") {
  const old = JSON.parse(readFileSync(keysFile, "utf8"));
  const rekeyed = () => {
    const fresh = makeKeys();
    return { ...fresh, jwks: fresh.jwks.map((key, i) => ({ ...key, kid: old.jwks[i].kid })), retiring: [] };
  };
  const next =
    port === "rotate" ? { ...makeKeys(), retiring: old.jwks.slice(0, 2) } : port === "retire" ? { ...old, retiring: [] } : rekeyed();
  writeFileSync(keysFile, JSON.stringify(next, null, 2), { mode: 0o600 });
  process.exit(0);
}
if (!existsSync(keysFile)) writeFileSync(keysFile, JSON.stringify(makeKeys(), null, 2), { mode: 0o600 });
const keys = JSON.parse(readFileSync(keysFile, "utf8"));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    { client_id: "app-rs", client_secret: "app-rs-secret", grant_types: ["client_credentials"], redirect_uris: [], response_types: [] },
    { client_id: "app-es", client_secret: "app-es-secret", grant_types: ["client_credentials"], redirect_uris: [], response_types: [] },
  ],
  // The first key of an algorithm signs; the retiring ones only verify.
  jwks: { keys: [...keys.jwks, ...(keys.retiring ?? [])] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "https://uploadgate.test",
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: "upload",
        audience: "uploadgate",
        accessTokenTTL: 3600,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: client.clientId === "app-es" ? "ES256" : "RS256" } },
      }),
    },
  },
});

let jwksFetches = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === "/test/jwks-fetches") {
    ctx.body = { fetches: jwksFetches };
    return;
  }
  if (ctx.path === "/jwks") jwksFetches += 1;
  await next();
});

provider.listen(Number(port), "127.0.0.1", () => console.log(`oidc provider at ${issuer}`));
