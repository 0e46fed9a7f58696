// Messages accepted by stepline-broker with a data_dir survive a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { startBroker, config } from "./broker.mjs";

const retryOptions = { maxRetries: 0, timeoutInMs: 10000 };

test("queued messages and events are still there after a restart with data_dir", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stepline-interop-store-"));
  const yaml = config(`data_dir: ${join(dir, "data")}\n`);

  let broker = await startBroker(yaml, dir);
  let client = new ServiceBusClient(broker.connectionString(), { retryOptions });
  const sender = client.createSender("orders");
  await sender.sendMessages([{ body: "kept 1" }, { body: "kept 2" }, { body: "kept 3" }]);
  const receiver = client.createReceiver("orders");
  const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  await receiver.completeMessage(first);
  await client.close();
  const producer = new EventHubProducerClient(broker.connectionString(), "telemetry");
  await producer.sendBatch([{ body: "event kept" }], { partitionId: "1" });
  await producer.close();
  assert.equal(await broker.stop(), 0);

  broker = await startBroker(yaml, dir);
  client = new ServiceBusClient(broker.connectionString(), { retryOptions });
  const again = client.createReceiver("orders", { receiveMode: "receiveAndDelete" });
  const messages = await again.receiveMessages(5, { maxWaitTimeInMs: 2000 });
  assert.deepEqual(messages.map((m) => m.body), ["kept 2", "kept 3"]);
  await client.close();

  const consumer = new EventHubConsumerClient("$Default", broker.connectionString(), "telemetry");
  const events = await new Promise((resolve) => {
    const got = [];
    const sub = consumer.subscribe("1", {
      processEvents: async (batch) => {
        got.push(...batch);
        if (got.length) sub.close().then(() => resolve(got));
      },
      processError: async () => {},
    }, { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  });
  assert.equal(events[0].body, "event kept");
  assert.equal(events[0].sequenceNumber, 0);
  await consumer.close();
  assert.equal(await broker.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});
