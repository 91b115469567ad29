/** Starts the node-ws comparison server in its own process (tsx) and waits for its port. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { RunningSystem } from "./system.js";

const SERVER = fileURLToPath(new URL("../node-ws/server.ts", import.meta.url));

export async function startNodeWs(): Promise<RunningSystem> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await once(lines, "line")) as [string];
  const { port } = JSON.parse(first) as { port: number };
  return {
    endpoint: { name: "node-ws", origin: `http://127.0.0.1:${port}`, roomPathPrefix: "/rooms/", pid: child.pid! },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
