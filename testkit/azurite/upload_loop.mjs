// The official client's side of bench/webhook's claim-check comparison: uploads a body of SIZE
// bytes COUNT times as one block blob each with @azure/storage-blob, and prints
// "result SECONDS COUNT" (set-up excluded).
//
//   node upload_loop.mjs CONTAINER SIZE COUNT   (STEPLINE_CLAIM_CHECK_CONNECTION: the account)
import { BlobServiceClient } from "@azure/storage-blob";

const [container, size, count] = process.argv.slice(2);
const service = BlobServiceClient.fromConnectionString(process.env.STEPLINE_CLAIM_CHECK_CONNECTION);
const client = service.getContainerClient(container);
await client.createIfNotExists();
const body = Buffer.alloc(Number(size), "x");
const started = process.hrtime.bigint();
for (let i = 0; i < Number(count); i++) {
  // upload() is one Put Blob, as the host makes it (uploadData would split the body in blocks).
  await client.getBlockBlobClient(`bench/${i}`).upload(body, body.length, {
    blobHTTPHeaders: { blobContentType: "application/json" },
  });
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`result ${seconds.toFixed(6)} ${count}`);
