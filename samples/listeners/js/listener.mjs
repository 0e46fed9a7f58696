// An Azure SDK user reading Stepline's messages unchanged: @azure/service-bus receives from a
// queue or a topic subscription, prints the five Dataverse claim properties each message carries
// and a summary of the execution context in its body, and completes the message. A claim-checked
// message's context is downloaded with @azure/storage-blob and checked against its SHA-256.
//
//   node listener.mjs [account-events/Subscriptions/all] [--count N] [--timeout S]
// The connection string comes from STEPLINE_LISTENER_CONNECTION or STEPLINE_BROKER_CONNECTION;
// the storage account of claim checks from STEPLINE_CLAIM_CHECK_CONNECTION.
import { createHash } from "node:crypto";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args.splice(i, 2)[1]);
};
const count = option("--count", Infinity);
const timeout = option("--timeout", 0);
const [entity = "account-events/Subscriptions/all"] = args;
const connection = process.env.STEPLINE_LISTENER_CONNECTION ?? process.env.STEPLINE_BROKER_CONNECTION;
if (!connection) {
  console.error("set STEPLINE_LISTENER_CONNECTION to a Service Bus connection string");
  process.exit(2);
}

const claims = "http://schemas.microsoft.com/xrm/2011/Claims/";
const claimNames = ["Organization", "User", "InitiatingUser", "EntityLogicalName", "RequestName"];

// Dataverse's JSON (RemoteExecutionContext) and Stepline's own json both parse as plain objects.
function summary(body) {
  if (Buffer.isBuffer(body)) return `${body.length} bytes (not JSON)`;
  const context = typeof body === "string" ? JSON.parse(body) : body;
  const c = context.data ?? context; // CloudEvents carry the context in data
  return [c.MessageName ?? c.messageName, c.PrimaryEntityName ?? c.primaryEntityName,
    c.PrimaryEntityId ?? c.primaryEntityId].join(" ");
}

// A claim check names the blob that holds the context: fetch it from our own storage account
// only, check it is exactly what was sent, and read it as the message's body would be read. The
// size is checked before anything is downloaded, so a forged reference cannot make the listener
// hold more than maxClaimCheckBytes.
const maxClaimCheckBytes = 256 * 1024 * 1024;
async function claimChecked(body) {
  const reference = body?.["stepline.claim_check"];
  if (!reference) return { body, note: "", reference: undefined };
  const account = process.env.STEPLINE_CLAIM_CHECK_CONNECTION;
  if (!account) throw new Error("a claim-checked message: set STEPLINE_CLAIM_CHECK_CONNECTION");
  const service = BlobServiceClient.fromConnectionString(account);
  const prefix = service.url.replace(/\/$/, "") + "/";
  if (!reference.url.startsWith(prefix)) throw new Error(`${reference.url} is not in our account`);
  const [container, ...name] = decodeURIComponent(reference.url.slice(prefix.length)).split("/");
  const blob = service.getContainerClient(container).getBlobClient(name.join("/"));
  if (!Number.isSafeInteger(reference.size) || reference.size < 0 || reference.size > maxClaimCheckBytes)
    throw new Error(`${reference.url}: the message names ${reference.size} bytes, over ${maxClaimCheckBytes}`);
  const { contentLength } = await blob.getProperties();
  if (contentLength !== reference.size)
    throw new Error(`${reference.url} has ${contentLength} bytes, the message names ${reference.size}`);
  const bytes = reference.size ? await blob.downloadToBuffer(Buffer.alloc(reference.size), 0, reference.size)
                               : Buffer.alloc(0);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (bytes.length !== reference.size || sha256 !== reference.sha256)
    throw new Error(`${reference.url} is not the body the message names`);
  const text = bytes.toString("utf8");
  return {
    body: reference.contentType.endsWith("json") ? JSON.parse(text) : text,
    note: ` | claim check: ${bytes.length} bytes from ${reference.url}, SHA-256 verified`,
    reference: reference.deleteAfterRead ? blob : undefined,
  };
}

const client = new ServiceBusClient(connection);
const [topic, , subscription] = entity.split("/");
const receiver = subscription ? client.createReceiver(topic, subscription) : client.createReceiver(entity);
let received = 0;
const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
while (received < count && Date.now() < deadline) {
  const wait = Math.max(100, Math.min(5000, deadline - Date.now()));
  for (const message of await receiver.receiveMessages(count - received, { maxWaitTimeInMs: wait })) {
    const props = message.applicationProperties ?? {};
    const shown = claimNames.map((name) => `${name}=${props[claims + name] ?? "-"}`).join(" ");
    const { body, note, reference } = await claimChecked(message.body);
    console.log(`${entity}: ${summary(body)} | ${message.contentType} | ${shown}${note}`);
    await receiver.completeMessage(message);
    await reference?.deleteIfExists(); // the listener confirms a queue's claim check by deleting it
    received++;
  }
}
await receiver.close();
await client.close();
if (received < count) {
  console.error(`timeout: ${received} of ${count} messages`);
  process.exit(1);
}
