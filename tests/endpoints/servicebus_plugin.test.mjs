// A context posted by the out-of-box Stepline.ServiceBusPlugin (run by `stepline exec`) to a
// stepline-broker queue in dataverse-json, received by the official @azure/service-bus client:
// the five claim properties are there and the body is the documented RemoteExecutionContext.
// Uses the interop project's packages (tests/interop, installed by ./dev with npm ci).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { startBroker, config } from "../interop/broker.mjs";

const require = createRequire(new URL("../interop/package.json", import.meta.url));
const { ServiceBusClient } = require("@azure/service-bus");

const stepline = process.env.STEPLINE_EXE;
const plugins = process.env.STEPLINE_PLUGINS;
const claims = "http://schemas.microsoft.com/xrm/2011/Claims/";
const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let broker;
let client;

before(async () => {
  assert.ok(stepline && plugins, "set STEPLINE_EXE and STEPLINE_PLUGINS");
  broker = await startBroker(config());
  client = new ServiceBusClient(broker.connectionString(), {
    retryOptions: { maxRetries: 0, timeoutInMs: 10000 },
  });
});

after(async () => {
  await client?.close();
  assert.equal(await broker?.stop(), 0);
});

test("the out-of-box plug-in's post reaches an @azure/service-bus receiver with its claims", async () => {
  const registration = join(broker.dir, "stepline.yaml");
  writeFileSync(registration, `
host:
  plugin_folder: ${plugins}
  data_folder: ${join(broker.dir, "data")}
  organization:
    name: contoso
plugins:
  - file: servicebus.so
endpoints:
  - name: orders
    contract: queue
    path: orders
    format: dataverse-json
    user_claim: user-info
    connection: "${broker.connectionString()}"
steps:
  - name: Publish new accounts
    message: Create
    entity: account
    stage: post-operation
    handler:
      plugin: Stepline.ServiceBusPlugin
    configuration: orders
`);
  const id = "5f0c0000-0000-0000-0000-0000000000e1";
  const request = {
    message: "Create",
    target: { logicalName: "account", id, attributes: { name: "Contoso Ltd" } },
    userAgent: "interop-test/1.0",
  };
  const { stdout } = await promisify(execFile)(stepline, [
    "exec", "-c", registration, "--request", JSON.stringify(request), "--json",
  ]);
  const response = JSON.parse(stdout);
  assert.equal(response.outcome, "succeeded");

  const receiver = client.createReceiver("orders", { receiveMode: "receiveAndDelete" });
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10000 });
  await receiver.close();
  assert.ok(message, "the posted context arrives");

  const p = message.applicationProperties;
  assert.equal(p[`${claims}Organization`], "contoso");
  assert.match(p[`${claims}User`], guid);
  assert.match(p[`${claims}InitiatingUser`], guid);
  assert.equal(p[`${claims}EntityLogicalName`], "account");
  assert.equal(p[`${claims}RequestName`], "Create");
  assert.equal(p[`${claims}InitiatingUserAgent`], "interop-test/1.0");
  assert.equal(p["stepline.entity"], "account");
  assert.equal(message.contentType, "application/json");
  assert.equal(message.subject, "Create:account");
  assert.equal(message.correlationId, response.correlationId);

  // The data section holds JSON, which the client parses: the RemoteExecutionContext shape.
  const body = message.body;
  assert.equal(typeof body, "object");
  assert.deepEqual(Object.keys(body), [...Object.keys(body)].sort(), "members in alphabetical order");
  assert.equal(body.MessageName, "Create");
  assert.equal(body.PrimaryEntityName, "account");
  assert.equal(body.PrimaryEntityId, id);
  assert.equal(body.Stage, 40);
  assert.equal(body.Mode, 0);
  assert.equal(body.OrganizationName, "contoso");
  assert.equal(body.UserId, p[`${claims}User`]);
  assert.equal(body.InitiatingUserAgent, "interop-test/1.0");
  assert.match(body.OperationCreatedOn, /^\/Date\(\d+([+-]\d{4})?\)\/$/);
  assert.equal(message.messageId, body.OperationId);
  const target = body.InputParameters.find((kv) => kv.key === "Target");
  assert.equal(target.value.__type, "Entity:http://schemas.microsoft.com/xrm/2011/Contracts");
  assert.equal(target.value.LogicalName, "account");
  assert.equal(target.value.Id, id);
  const name = target.value.Attributes.find((kv) => kv.key === "name");
  assert.equal(name.value, "Contoso Ltd");
  assert.ok(Array.isArray(body.PreEntityImages) && Array.isArray(body.SharedVariables));
});
