// The official @azure/service-bus client against stepline-broker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { ServiceBusClient, ServiceBusError } from "@azure/service-bus";
import { startBroker, config } from "./broker.mjs";

const retryOptions = { maxRetries: 0, timeoutInMs: 10000, retryDelayInMs: 100 };
let broker;
let client;

before(async () => {
  broker = await startBroker(config());
  client = new ServiceBusClient(broker.connectionString(), { retryOptions });
});

after(async () => {
  await client?.close();
  assert.equal(await broker?.stop(), 0);
  rmSync(broker.dir, { recursive: true, force: true });
});

test("a queue takes a single message and a batch, peek-lock receive and complete empty it", async () => {
  const sender = client.createSender("orders");
  await sender.sendMessages({ body: { order: 1 }, applicationProperties: { region: "west" } });
  const batch = await sender.createMessageBatch();
  assert.equal(batch.maxSizeInBytes, 262144);
  for (let i = 2; i <= 4; i++) assert.ok(batch.tryAddMessage({ body: { order: i }, messageId: `order-${i}` }));
  await sender.sendMessages(batch);
  await sender.sendMessages([{ body: { order: 5 } }, { body: { order: 6 } }]);

  const receiver = client.createReceiver("orders");
  const received = [];
  while (received.length < 6) {
    const messages = await receiver.receiveMessages(6 - received.length, { maxWaitTimeInMs: 3000 });
    assert.ok(messages.length > 0, "messages arrive");
    for (const m of messages) {
      assert.ok(m.lockToken, "peek-locked messages carry a lock token");
      assert.ok(m.messageId, "every message has a message id");
      assert.ok(m.lockedUntilUtc > new Date(Date.now() - 1000));
      await receiver.completeMessage(m);
      received.push(m);
    }
  }
  assert.deepEqual(received.map((m) => m.body.order), [1, 2, 3, 4, 5, 6]);
  assert.equal(received[0].applicationProperties.region, "west");
  assert.equal(received[1].messageId, "order-2");
  assert.ok(received[1].sequenceNumber.greaterThan(received[0].sequenceNumber));
  assert.equal((await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).length, 0);
  await receiver.close();
  await sender.close();
});

test("receive-and-delete removes messages as they are received", async () => {
  const sender = client.createSender("deleted");
  await sender.sendMessages([{ body: "a" }, { body: "b" }]);
  const receiver = client.createReceiver("deleted", { receiveMode: "receiveAndDelete" });
  const messages = await receiver.receiveMessages(2, { maxWaitTimeInMs: 3000 });
  assert.deepEqual(messages.map((m) => m.body), ["a", "b"]);
  assert.equal(messages[0].lockToken, undefined);
  assert.equal((await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).length, 0);
  await receiver.close();
  await sender.close();
});

test("an abandoned message is delivered again with its delivery count raised", async () => {
  const sender = client.createSender("abandoned");
  await sender.sendMessages({ body: "retry me" });
  const receiver = client.createReceiver("abandoned");
  const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  assert.equal(first.deliveryCount, 0);
  await receiver.abandonMessage(first, { attempt: "first" });
  const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  assert.equal(second.body, "retry me");
  assert.equal(second.deliveryCount, 1);
  assert.equal(second.applicationProperties.attempt, "first", "properties to modify are applied");
  await receiver.completeMessage(second);
  await receiver.close();
  await sender.close();
});

test("a dead-lettered message is received from the dead-letter queue with its reason", async () => {
  const sender = client.createSender("doomed");
  await sender.sendMessages({ body: "bad data" });
  const receiver = client.createReceiver("doomed");
  const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  await receiver.deadLetterMessage(m, { deadLetterReason: "Invalid", deadLetterErrorDescription: "no customer" });
  const dlq = client.createReceiver("doomed", { subQueueType: "deadLetter" });
  const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  assert.equal(dead.body, "bad data");
  assert.equal(dead.deadLetterReason, "Invalid");
  assert.equal(dead.deadLetterErrorDescription, "no customer");
  await dlq.completeMessage(dead);
  await dlq.close();
  await receiver.close();
  await sender.close();
});

test("a deferred message is received by its sequence number and completed through $management", async () => {
  const sender = client.createSender("abandoned");
  await sender.sendMessages({ body: "later" });
  const receiver = client.createReceiver("abandoned");
  const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  await receiver.deferMessage(m);
  assert.equal((await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).length, 0, "deferred messages wait");
  const [deferred] = await receiver.receiveDeferredMessages(m.sequenceNumber);
  assert.equal(deferred.body, "later");
  assert.ok(deferred.lockToken);
  await receiver.completeMessage(deferred);
  await assert.rejects(receiver.receiveDeferredMessages(m.sequenceNumber));
  await receiver.close();
  await sender.close();
});

test("a lock is renewed through $management", async () => {
  const sender = client.createSender("renewed");
  await sender.sendMessages({ body: "long work" });
  const receiver = client.createReceiver("renewed", { maxAutoLockRenewalDurationInMs: 0 });
  const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  const before = m.lockedUntilUtc.getTime();
  await new Promise((r) => setTimeout(r, 1200));
  const renewed = await receiver.renewMessageLock(m);
  assert.ok(renewed.getTime() > before, "the lock ends later after renewal");
  await new Promise((r) => setTimeout(r, 2200));  // past the original lock, inside the renewed one
  await receiver.completeMessage(m);
  await receiver.close();
  await sender.close();
});

test("a topic routes by the EntityLogicalName claim to the filtered subscription and to all", async () => {
  const claim = "http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName";
  const sender = client.createSender("account-events");
  await sender.sendMessages([
    { body: "account created", applicationProperties: { [claim]: "account" } },
    { body: "contact created", applicationProperties: { [claim]: "contact" } },
  ]);
  const accounts = client.createReceiver("account-events", "accounts");
  const all = client.createReceiver("account-events", "all");
  const fromAccounts = await accounts.receiveMessages(5, { maxWaitTimeInMs: 2000 });
  const fromAll = await all.receiveMessages(5, { maxWaitTimeInMs: 2000 });
  assert.deepEqual(fromAccounts.map((m) => m.body), ["account created"]);
  assert.deepEqual(fromAll.map((m) => m.body).sort(), ["account created", "contact created"]);
  for (const m of fromAccounts) await accounts.completeMessage(m);
  for (const m of fromAll) await all.completeMessage(m);
  await accounts.close();
  await all.close();
  await sender.close();
});

test("a wrong key is refused with UnauthorizedAccess", async () => {
  const wrong = new ServiceBusClient(broker.connectionString("not-the-key"), { retryOptions });
  const sender = wrong.createSender("orders");
  await assert.rejects(sender.sendMessages({ body: "x" }), (e) => e.code === "UnauthorizedAccess");
  await wrong.close();
});

// As Service Bus does: the policy's token is valid, so $cbs accepts it; the link that needs a
// claim the policy lacks is refused at attach, and the SDK reports UnauthorizedAccess.
function missingClaim(claim) {
  return (e) => {
    assert.ok(e instanceof ServiceBusError, `a ServiceBusError, not ${e.constructor.name}: ${e.message}`);
    assert.equal(e.code, "UnauthorizedAccess");
    assert.match(e.message, new RegExp(`^Unauthorized access\\. '${claim}' claim\\(s\\) are required ` +
      "to perform this operation\\. Resource: 'sb://localhost/orders(/\\$management)?'\\.$"));
    return true;
  };
}

test("a send-only policy may send, but its receivers are refused with UnauthorizedAccess", async () => {
  const sendOnly = new ServiceBusClient(broker.connectionString("send-only-key", "SendOnly"), { retryOptions });
  const sender = sendOnly.createSender("orders");
  await sender.sendMessages({ body: "sent with a send-only policy" });
  const receiver = sendOnly.createReceiver("orders");
  await assert.rejects(receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 }), missingClaim("Listen"));
  await assert.rejects(receiver.peekMessages(1), missingClaim("Listen"));
  const streamed = sendOnly.createReceiver("orders");
  const error = await new Promise((resolve) => {
    streamed.subscribe({ processMessage: async () => {}, processError: async (args) => resolve(args.error) });
  });
  await streamed.close();
  missingClaim("Listen")(error);
  await sendOnly.close();

  const owner = client.createReceiver("orders");
  const [m] = await owner.receiveMessages(1, { maxWaitTimeInMs: 3000 });
  assert.equal(m.body, "sent with a send-only policy");
  await owner.completeMessage(m);
  await owner.close();
});

test("a listen-only policy's sender is refused with UnauthorizedAccess", async () => {
  const listenOnly = new ServiceBusClient(broker.connectionString("listen-only-key", "ListenOnly"),
    { retryOptions });
  await assert.rejects(listenOnly.createSender("orders").sendMessages({ body: "x" }), missingClaim("Send"));
  const receiver = listenOnly.createReceiver("orders");
  assert.equal((await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).length, 0);
  await listenOnly.close();
});
