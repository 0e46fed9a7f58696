// Starts stepline-broker (path in STEPLINE_BROKER) on a free 127.0.0.1 port with a given YAML
// configuration, and stops it by its pid.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtempSync, writeFileSync, openSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const key = "interop-test-key";

if (!existsSync(new URL("./node_modules/@azure/service-bus/package.json", import.meta.url))) {
  throw new Error("the Azure SDK packages are missing: run 'npm ci' in tests/interop (./dev test does)");
}

export function config(extra = "") {
  return `
sas_policies:
  - name: RootManageSharedAccessKey
    key: ${key}
    rights: [manage, send, listen]
  - name: SendOnly
    key: send-only-key
    rights: [send]
  - name: ListenOnly
    key: listen-only-key
    rights: [listen]
queues:
  - name: orders
    lock_duration: 5s
  - name: abandoned
  - name: doomed
  - name: renewed
    lock_duration: 3s
  - name: deleted
topics:
  - name: account-events
    subscriptions:
      - name: accounts
        filter: "\\"http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName\\" = 'account'"
      - name: all
event_hubs:
  - name: telemetry
    partitions: 4
${extra}`;
}

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`stepline-broker exited with ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.on("connect", () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("stepline-broker did not start listening");
}

export async function startBroker(yaml, dir = mkdtempSync(join(tmpdir(), "stepline-interop-"))) {
  const exe = process.env.STEPLINE_BROKER;
  if (!exe) throw new Error("set STEPLINE_BROKER to the stepline-broker executable");
  const file = join(dir, "broker.yaml");
  writeFileSync(file, yaml);
  const port = await freePort();
  const log = openSync(join(dir, "broker.log"), "a");
  const child = spawn(exe, ["-c", file, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", log, log] });
  await waitForPort(port, child);
  return {
    dir,
    port,
    connectionString(sasKey = key, policy = "RootManageSharedAccessKey") {
      return `Endpoint=sb://localhost:${port};SharedAccessKeyName=${policy};` +
        `SharedAccessKey=${sasKey};UseDevelopmentEmulator=true`;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}
