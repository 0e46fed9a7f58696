// The official @azure/event-hubs client against stepline-broker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { startBroker, config } from "./broker.mjs";

let broker;

before(async () => {
  broker = await startBroker(config());
});

after(async () => {
  assert.equal(await broker?.stop(), 0);
  rmSync(broker.dir, { recursive: true, force: true });
});

test("events sent in batches reach every partition and a subscriber from earliest reads them all", async () => {
  const producer = new EventHubProducerClient(broker.connectionString(), "telemetry");
  const ids = await producer.getPartitionIds();
  assert.deepEqual(ids, ["0", "1", "2", "3"]);

  const keyed = await producer.createBatch({ partitionKey: "device-7" });
  assert.ok(keyed.tryAdd({ body: { reading: 1 } }));
  assert.ok(keyed.tryAdd({ body: { reading: 2 } }));
  await producer.sendBatch(keyed);
  let expected = 2;
  for (const id of ids) {
    await producer.sendBatch([{ body: { partition: id } }], { partitionId: id });
    expected++;
  }
  await producer.sendBatch([{ body: "round-robin" }]);
  expected++;
  const props = await producer.getPartitionProperties("0");
  assert.equal(props.partitionId, "0");
  assert.ok(props.lastEnqueuedSequenceNumber >= 0);
  await producer.close();

  const consumer = new EventHubConsumerClient("$Default", broker.connectionString(), "telemetry");
  const received = [];
  const keyedPartitions = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${expected}`)), 20000);
    const subscription = consumer.subscribe(
      {
        processEvents: async (events, context) => {
          for (const e of events) {
            received.push(e);
            assert.equal(typeof e.offset, "string");
            assert.ok(e.sequenceNumber >= 0);
            assert.ok(e.enqueuedTimeUtc instanceof Date);
            if (e.partitionKey === "device-7") keyedPartitions.add(context.partitionId);
          }
          if (received.length >= expected) {
            clearTimeout(timer);
            subscription.close().then(resolve, reject);
          }
        },
        processError: async (err) => {
          if (err.code !== "ReceiverDisconnectedError") console.error("processError", err);
        },
      },
      { startPosition: earliestEventPosition, maxBatchSize: 10, maxWaitTimeInSeconds: 1 },
    );
  });
  await consumer.close();
  assert.equal(received.length, expected);
  assert.equal(keyedPartitions.size, 1, "one partition key maps to one partition");
  const perPartition = received.filter((e) => e.body && e.body.partition !== undefined).map((e) => e.body.partition);
  assert.deepEqual(perPartition.sort(), ["0", "1", "2", "3"]);
});
