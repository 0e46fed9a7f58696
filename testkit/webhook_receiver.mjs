// A webhook receiver for tests, benchmarks and the demo, on Node's own http and http2 modules:
// it keeps every request it gets (headers, body, which connection carried it), verifies
// Standard Webhooks signatures when given the secret, and answers with the responses it was told
// to give next.
//
//   node webhook_receiver.mjs --port P [--cert FILE --key FILE] [--secret S] [--count-only]
//
// With --cert/--key it serves HTTPS, HTTP/2 by ALPN as well as HTTP/1.1. It prints "listening P"
// once it accepts. --count-only (benchmarks) keeps no request, only their number, so memory stays
// flat. Control (on the same port):
//   GET  /_control/received   every request kept, as a JSON array
//   GET  /_control/count      how many requests arrived, as {"count": N}
//   POST /_control/script     a JSON array of responses to give next, in order:
//                             {"status": 503, "body": "...", "headers": {...}, "delayMs": 0}
//   POST /_control/reset      forget the requests and the script
import { createHmac, createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const port = Number(option("--port") ?? 0);
const secret = option("--secret");
const cert = option("--cert");
const key = option("--key");
const countOnly = args.includes("--count-only");
// Standard Webhooks: a signature older or newer than this is refused as a possible replay.
const toleranceSeconds = 5 * 60;

const received = [];
let count = 0;
const script = [];
const seenIds = new Set();
const connections = new WeakMap();
let nextConnection = 1;

function connectionOf(req) {
  const carrier = req.stream?.session ?? req.socket;
  if (!connections.has(carrier)) connections.set(carrier, nextConnection++);
  return connections.get(carrier);
}

// "valid", "invalid", "stale" (timestamp outside the tolerance) or "absent".
function verify(headers, body) {
  const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!signatures) return "absent";
  if (!secret || !id || !timestamp) return "invalid";
  const keyBytes = secret.startsWith("whsec_")
    ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
  const expected = createHmac("sha256", keyBytes)
    .update(`${id}.${timestamp}.`).update(body).digest();
  const match = signatures.split(" ").some((entry) => {
    const [version, value] = entry.split(",");
    if (version !== "v1" || !value) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!match) return "invalid";
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return "stale";
  return "valid";
}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url, "http://receiver");
  if (url.pathname === "/_control/received") return reply(res, 200, received);
  if (url.pathname === "/_control/count") return reply(res, 200, { count });
  if (url.pathname === "/_control/script") {
    script.push(...JSON.parse(body.toString("utf8")));
    return reply(res, 204, "");
  }
  if (url.pathname === "/_control/reset") {
    received.length = 0;
    count = 0;
    script.length = 0;
    seenIds.clear();
    return reply(res, 204, "");
  }
  ++count;
  if (countOnly) return reply(res, 200, "");
  const id = req.headers["webhook-id"];
  received.push({
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body: body.toString("utf8"),
    size: body.length,
    sha256: createHash("sha256").update(body).digest("hex"),
    signature: verify(req.headers, body),
    duplicate: id !== undefined && seenIds.has(id),
    connection: connectionOf(req),
    httpVersion: req.httpVersion,
    at: Date.now(),
  });
  if (id !== undefined) seenIds.add(id);
  const next = script.shift() ?? { status: 200, body: { received: true } };
  const answer = () => reply(res, next.status, next.body ?? "", next.headers ?? {});
  if (next.delayMs) setTimeout(answer, next.delayMs);
  else answer();
}

const onRequest = (req, res) => handle(req, res).catch((e) => reply(res, 500, { message: String(e) }));
const server = cert
  ? http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true },
    onRequest)
  : http.createServer({ keepAliveTimeout: 60_000 }, onRequest);
server.listen(port, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
