// Reads one blob with the official Azure Storage client and prints what it found as one JSON
// line: the client verifies the service's answer its own way, so a blob it reads back whole is
// one Azure would hold, signed the way Azure expects.
//
//   node read_blob.mjs URL            (STEPLINE_CLAIM_CHECK_CONNECTION holds the account)
import { createHash } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";

const [url] = process.argv.slice(2);
const service = BlobServiceClient.fromConnectionString(process.env.STEPLINE_CLAIM_CHECK_CONNECTION);
// The URL is <endpoint>/<container>/<name>; the client rebuilds it from the two parts.
const path = decodeURIComponent(url.slice(service.url.replace(/\/$/, "").length + 1));
const [container, ...rest] = path.split("/");
const blob = service.getContainerClient(container).getBlobClient(rest.join("/"));
const properties = await blob.getProperties();
const body = await blob.downloadToBuffer();
console.log(JSON.stringify({
  size: body.length,
  sha256: createHash("sha256").update(body).digest("hex"),
  contentType: properties.contentType,
  contentMD5: properties.contentMD5 ? Buffer.from(properties.contentMD5).toString("base64") : null,
  md5: createHash("md5").update(body).digest("base64"),
  metadata: properties.metadata,
}));
