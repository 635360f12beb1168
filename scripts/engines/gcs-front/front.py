"""A front for fake-gcs-server that checks what the emulator does not.

fake-gcs-server checks no V4 signature and no OAuth2 token. This front,
on loopback between uploadgate (and its clients) and the emulator, does:

- POST /token: the OAuth2 JWT bearer grant (RFC 7523), the key file's
  `token_uri`. The assertion must be signed by the test service account's
  key (checked with google-auth) for its issuer, audience and scope; the
  access token issued is random and remembered.
- A request carrying X-Goog-Signature: its V4 signature is recomputed with
  google-cloud-storage's own signer (`_signing.generate_signed_url_v4`, at
  the request's X-Goog-Date), from what the request really sends: method,
  path, query and the headers it names as signed, each of which it must
  send. A mismatch is 403 SignatureDoesNotMatch, an expired URL 400
  ExpiredToken, as GCS answers; a body outside a signed
  x-goog-content-length-range is 400 EntityTooLarge / EntityTooSmall. What
  the XML API answers and the emulator does not is added: the part's ETag
  (the body's MD5) on PUT, Content-Disposition from
  response-content-disposition on GET.
- Any other request (the JSON API) needs `Authorization: Bearer` with a
  token this front issued: 401 otherwise.
- Generation preconditions, which the emulator ignores, are applied as
  GCS documents them (412 conditionNotMet): `ifGenerationMatch` on an
  object's GET, media download and DELETE and on a compose's destination,
  `ifSourceGenerationMatch` on a rewrite, and each compose source's
  `objectPreconditions`. Checked just before forwarding, so a race between
  two requests can slip through here, never at GCS.
- A bucket's CORS rules, which the emulator drops, are kept here from
  the PATCH that sets them, given back on the bucket's GET, and answer
  browsers' preflights as GCS does: a rule must name the origin, the
  method and every requested header (`responseHeader`).
- GET /_front/stats: how many signed requests were verified and refused.

Usage: front.py LISTEN_PORT UPSTREAM_PORT KEY_FILE
"""

import base64
import datetime
import hashlib
import http.client
import http.server
import json
import secrets
import sys
import threading
import urllib.parse

import google.auth.jwt
from cryptography.hazmat.primitives import serialization
from google.cloud.storage import _signing
from google.oauth2 import service_account

SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# GCS accepts a URL dated this far in the future (clock skew).
SKEW = datetime.timedelta(minutes=15)
HOP_BY_HOP = ("transfer-encoding", "connection", "content-length", "keep-alive")

port, upstream, key_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(key_file) as f:
    key = json.load(f)
credentials = service_account.Credentials.from_service_account_info(key)
public_pem = serialization.load_pem_private_key(key["private_key"].encode(), None).public_key() \
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

lock = threading.Lock()
tokens = set()
stats = {"verified": 0, "refused": 0, "tokens_issued": 0, "unauthorized": 0,
         "preconditions_failed": 0}


def count(name):
    with lock:
        stats[name] += 1


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def verify_signed(method, raw_path, query, headers, body_len):
    """Raises Refused unless the request's V4 signature is right and live."""
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    given = dict(params)
    for name in ("X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires",
                 "X-Goog-SignedHeaders", "X-Goog-Signature"):
        if name not in given:
            raise Refused(400, "MissingSecurityHeader", f"no {name}")
    if given["X-Goog-Algorithm"] != "GOOG4-RSA-SHA256":
        raise Refused(400, "InvalidArgument", "not GOOG4-RSA-SHA256")
    stamp = given["X-Goog-Date"]
    at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    expires = int(given["X-Goog-Expires"])
    now = datetime.datetime.now(datetime.timezone.utc)
    if now > at + datetime.timedelta(seconds=expires):
        raise Refused(400, "ExpiredToken", "the signed URL has expired")
    if at > now + SKEW:
        raise Refused(400, "RequestNotYetValid", "the signed URL is dated in the future")
    signed = given["X-Goog-SignedHeaders"].split(";")
    sent = {name.lower(): value for name, value in headers.items()}
    signed_values = {}
    for name in signed:
        if name == "host":
            continue
        if name not in sent:
            raise Refused(403, "SignatureDoesNotMatch", f"signed header {name} not sent")
        signed_values[name] = sent[name]
    others = {name: value for name, value in params
              if not name.startswith("X-Goog-")}
    host = sent.get("host", "")
    expected = _signing.generate_signed_url_v4(
        credentials,
        resource=raw_path,
        expiration=datetime.timedelta(seconds=expires),
        api_access_endpoint=f"http://{host}",
        method=method,
        headers=signed_values,
        query_parameters=others or None,
        _request_timestamp=stamp,
    )
    want = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(expected).query))
    if want["X-Goog-Credential"] != given["X-Goog-Credential"] or \
            want["X-Goog-SignedHeaders"] != given["X-Goog-SignedHeaders"] or \
            not secrets.compare_digest(want["X-Goog-Signature"], given["X-Goog-Signature"]):
        raise Refused(403, "SignatureDoesNotMatch", "the signature does not match")
    bound = signed_values.get("x-goog-content-length-range")
    if bound is not None:
        low, high = (int(x) for x in bound.split(","))
        if body_len > high:
            raise Refused(400, "EntityTooLarge", "body larger than x-goog-content-length-range")
        if body_len < low:
            raise Refused(400, "EntityTooSmall", "body smaller than x-goog-content-length-range")


def check_grant(form):
    fields = dict(urllib.parse.parse_qsl(form))
    if fields.get("grant_type") != GRANT:
        return None, "unsupported_grant_type"
    try:
        claims = google.auth.jwt.decode(fields.get("assertion", ""), certs=public_pem,
                                        audience=key["token_uri"])
    except Exception:  # noqa: BLE001 - any flaw in the assertion is the same refusal
        return None, "invalid_grant"
    if claims.get("iss") != key["client_email"] or claims.get("scope") != SCOPE:
        return None, "invalid_scope"
    token = "ya29." + secrets.token_urlsafe(32)
    with lock:
        tokens.add(token)
        stats["tokens_issued"] += 1
    return token, None


cors = {}


def bucket_of(path):
    """The bucket a JSON API bucket path (/storage/v1/b/NAME) names."""
    parts = path.split("/")
    if len(parts) == 5 and parts[1:4] == ["storage", "v1", "b"]:
        return parts[4]
    return None


def preflight(path, headers, method=None):
    """The CORS headers answering a preflight for the object at `path` (or,
    with `method`, the request itself), or None."""
    bucket = path.split("/")[1] if path.count("/") >= 2 else ""
    origin = headers.get("Origin", "")
    asked = []
    if method is None:
        method = headers.get("Access-Control-Request-Method", "")
        asked = [h.strip().lower() for h in headers.get("Access-Control-Request-Headers", "")
                 .split(",") if h.strip()]
    with lock:
        rules = list(cors.get(bucket, []))
    for rule in rules:
        allowed = [h.lower() for h in rule.get("responseHeader", [])]
        if (origin in rule.get("origin", []) or "*" in rule.get("origin", [])) \
                and method in rule.get("method", []) and all(h in allowed for h in asked):
            if asked == [] and headers.get("Access-Control-Request-Method") is None:
                return [("Access-Control-Allow-Origin", origin),
                        ("Access-Control-Expose-Headers", ",".join(rule.get("responseHeader", [])))]
            return [("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Methods", ",".join(rule["method"])),
                    ("Access-Control-Allow-Headers", ",".join(rule.get("responseHeader", []))),
                    ("Access-Control-Max-Age", str(rule.get("maxAgeSeconds", 0)))]
    return None


def generation_of(bucket, name):
    """The emulator's current generation of an object, "0" when it has none."""
    connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
    quoted = urllib.parse.quote(name, safe="")
    connection.request("GET", f"/storage/v1/b/{bucket}/o/{quoted}")
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    if response.status == 404:
        return "0"
    return json.loads(answer)["generation"]


def unmet_precondition(method, path, params, body):
    """Whether a JSON API call names a generation its object does not have."""
    parts = path.split("/")
    # /storage/v1/b/{bucket}/o/{object}[/compose | /rewriteTo/b/{bucket}/o/{object}]
    if len(parts) < 7 or parts[1:4] != ["storage", "v1", "b"] or parts[5] != "o":
        return False
    bucket, name = parts[4], urllib.parse.unquote(parts[6])
    wanted = []
    if "ifSourceGenerationMatch" in params and len(parts) > 7 and parts[7] == "rewriteTo":
        wanted.append((name, params["ifSourceGenerationMatch"]))
    elif "ifGenerationMatch" in params:
        wanted.append((name, params["ifGenerationMatch"]))
    if len(parts) > 7 and parts[7] == "compose" and method == "POST":
        for source in json.loads(body or b"{}").get("sourceObjects", []):
            match = source.get("objectPreconditions", {}).get("ifGenerationMatch")
            if match is not None:
                wanted.append((source["name"], str(match)))
    return any(generation_of(bucket, obj) != str(gen) for obj, gen in wanted)


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def refuse_xml(self, refused):
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{refused.code}</Code>"
                f"<Message>{refused.message}</Message></Error>").encode()
        self.reply(refused.status, body, "application/xml; charset=UTF-8")

    def handle_any(self):
        path, _, query = self.path.partition("?")
        body = self.body()
        if path == "/token" and self.command == "POST":
            token, error = check_grant(body.decode())
            if error:
                return self.reply(400, json.dumps({"error": error}).encode(), "application/json")
            answer = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
            return self.reply(200, json.dumps(answer).encode(), "application/json")
        if path == "/_front/stats":
            with lock:
                return self.reply(200, json.dumps(stats).encode(), "application/json")
        if self.command == "OPTIONS":
            answer = preflight(path, self.headers)
            if answer is None:
                return self.reply(403, b"", "text/plain")
            return self.reply(200, b"", "text/plain", answer)
        bucket = bucket_of(path)
        if bucket and self.command == "PATCH" and "cors" in json.loads(body or b"{}"):
            with lock:
                cors[bucket] = json.loads(body)["cors"]
        signed = "X-Goog-Signature=" in query
        if signed:
            try:
                verify_signed(self.command, path, query, dict(self.headers), len(body))
            except Refused as refused:
                count("refused")
                print(f"refused {self.command} {path}: {refused.code}: {refused.message}",
                      file=sys.stderr, flush=True)
                return self.refuse_xml(refused)
            count("verified")
        elif not path.startswith("/_internal"):
            auth = self.headers.get("Authorization", "")
            with lock:
                known = auth.startswith("Bearer ") and auth[7:] in tokens
            if not known:
                count("unauthorized")
                error = {"error": {"code": 401, "message": "Invalid Credentials",
                                   "errors": [{"reason": "authError"}]}}
                return self.reply(401, json.dumps(error).encode(), "application/json")
            params = dict(urllib.parse.parse_qsl(query))
            if unmet_precondition(self.command, path, params, body):
                count("preconditions_failed")
                error = {"error": {"code": 412, "message": "Precondition Failed",
                                   "errors": [{"reason": "conditionNotMet"}]}}
                return self.reply(412, json.dumps(error).encode(), "application/json")
        self.forward(path, query, body, signed, bucket if self.command == "GET" else None)

    def forward(self, path, query, body, signed, bucket):
        connection = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        extra = {}
        if bucket and response.status == 200:
            with lock:
                rules = cors.get(bucket)
            if rules is not None:
                answer = json.dumps({**json.loads(answer), "cors": rules}).encode()
        params = dict(urllib.parse.parse_qsl(query))
        if signed and self.command == "PUT" and response.status == 200:
            # The XML API answers a PUT with the body's MD5 as ETag, and no body.
            extra["etag"] = f'"{hashlib.md5(body).hexdigest()}"'
            extra["content-type"] = "text/html; charset=UTF-8"
            answer = b""
        if signed and self.command == "GET" and "response-content-disposition" in params:
            extra["content-disposition"] = params["response-content-disposition"]
        self.send_response(response.status)
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in HOP_BY_HOP or lower in extra or lower in ("date", "server") \
                    or lower.startswith("access-control-"):
                continue
            self.send_header(name, value)
        for name, value in extra.items():
            self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(answer)))
        if "Origin" in self.headers and path.count("/") >= 2 and not path.startswith("/storage"):
            for name, value in preflight(path, self.headers, self.command) or []:
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)
        connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), Front).serve_forever()
