// The official @azure/service-bus sender as a peer for Stepline's durable endpoint path: sends
// messages of SIZE bytes (a binary body) to a queue in three modes and prints one JSON line,
//   {"size":…, "modes":{"awaited":{…}, "inflight":{…}, "batched":{…}}}
// each mode with its messages, seconds, msg_per_s and cpu_us_per_msg (process.cpuUsage, user +
// system, of this process alone):
//   awaited   one send at a time, each awaited before the next (a caller that waits for each
//             message to be accepted, as an operation waits for its durable job);
//   inflight  INFLIGHT sends outstanding at once (default 64), a new one as each completes;
//   batched   createMessageBatch filled until tryAddMessage refuses, then sent, one at a time.
// A mode's clock starts with its sender open (a first message sent and awaited, not counted).
// Its packages are installed from the committed lockfile beside it (./dev setup --tests).
//
//   node bench/servicebus/send.mjs --connection-string S --queue Q [--messages N]
//        [--awaited-messages N] [--size BYTES] [--inflight K] [--modes awaited,inflight,batched]
import { existsSync } from "node:fs";

if (!existsSync(new URL("./node_modules/@azure/service-bus/package.json", import.meta.url))) {
  console.error("send.mjs: @azure/service-bus is missing: run './dev setup --tests' (npm ci in bench/servicebus)");
  process.exit(2);
}
const { ServiceBusClient } = await import("@azure/service-bus");

function parse(argv) {
  const options = {
    connectionString: "", queue: "", messages: 20000, awaitedMessages: 0, size: 1024, inflight: 64,
    modes: ["awaited", "inflight", "batched"],
  };
  const names = {
    "--connection-string": ["connectionString", String], "--queue": ["queue", String],
    "--messages": ["messages", Number], "--awaited-messages": ["awaitedMessages", Number],
    "--size": ["size", Number], "--inflight": ["inflight", Number],
    "--modes": ["modes", (v) => v.split(",")],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const known = names[argv[i]];
    if (!known || i + 1 >= argv.length) {
      console.error(`send.mjs: unknown option or missing value: ${argv[i]} (options: ${Object.keys(names).join(" ")})`);
      process.exit(2);
    }
    options[known[0]] = known[1](argv[i + 1]);
  }
  if (!options.connectionString || !options.queue) {
    console.error("send.mjs: --connection-string and --queue are required");
    process.exit(2);
  }
  for (const [name, value] of Object.entries({ messages: options.messages, size: options.size, inflight: options.inflight })) {
    if (!Number.isInteger(value) || value <= 0) {
      console.error(`send.mjs: --${name} must be a positive whole number, not ${value}`);
      process.exit(2);
    }
  }
  for (const m of options.modes) {
    if (!["awaited", "inflight", "batched"].includes(m)) {
      console.error(`send.mjs: unknown mode '${m}' (awaited, inflight, batched)`);
      process.exit(2);
    }
  }
  if (!options.awaitedMessages) options.awaitedMessages = options.messages;
  return options;
}

const options = parse(process.argv.slice(2));
const body = Buffer.alloc(options.size, "x");
const message = () => ({ body, contentType: "application/json" });

async function timed(messages, send) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await send();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    messages,
    seconds: Number(seconds.toFixed(6)),
    msg_per_s: Math.round(messages / seconds),
    cpu_us_per_msg: Number(((used.user + used.system) / messages).toFixed(2)),
  };
}

const modes = {
  async awaited(sender, n) {
    return timed(n, async () => {
      for (let i = 0; i < n; i++) await sender.sendMessages(message());
    });
  },
  async inflight(sender, n) {
    return timed(n, async () => {
      let next = 0;
      const lane = async () => {
        while (next < n) {
          next++;
          await sender.sendMessages(message());
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.inflight, n) }, lane));
    });
  },
  async batched(sender, n) {
    return timed(n, async () => {
      let sent = 0;
      while (sent < n) {
        const batch = await sender.createMessageBatch();
        while (sent + batch.count < n && batch.tryAddMessage(message()));
        if (batch.count === 0) throw new Error(`a ${options.size}-byte message does not fit an empty batch`);
        await sender.sendMessages(batch);
        sent += batch.count;
      }
    });
  },
};

const client = new ServiceBusClient(options.connectionString, {
  retryOptions: { maxRetries: 3, timeoutInMs: 60000, retryDelayInMs: 100 },
});
const result = { size: options.size, queue: options.queue, modes: {} };
try {
  for (const mode of options.modes) {
    const sender = client.createSender(options.queue);
    await sender.sendMessages(message());  // opens the connection and the link
    const n = mode === "awaited" ? options.awaitedMessages : options.messages;
    result.modes[mode] = await modes[mode](sender, n);
    await sender.close();
  }
} finally {
  await client.close();
}
// Every message this process sent, the openers included, for a consumer that counts them.
result.sent = Object.values(result.modes).reduce((total, m) => total + m.messages + 1, 0);
console.log(JSON.stringify(result));
