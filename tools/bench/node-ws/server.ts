/**
 * What many users would write instead: a plain Node `ws` broadcast server.
 * Each path is a room; every frame goes to every other socket of the room as
 * it came; the text frame `ping` is answered `pong`. Runs in its own process
 * (the bench measures its RSS) and prints `{"port":N}` once listening.
 *
 *   tsx tools/bench/node-ws/server.ts
 */
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

const rooms = new Map<string, Set<WebSocket>>();
/** Counted like the Durable Objects' wake-up counters: every frame handled. */
const counters = { constructed: 1, messages: 0 };

const http = createServer((req, res) => {
  const room = rooms.get(req.url ?? "");
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ ...counters, connections: room?.size ?? 0 }));
});
const wss = new WebSocketServer({ server: http });

wss.on("connection", (ws, req) => {
  const name = req.url ?? "/";
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on("message", (data, isBinary) => {
    if (!isBinary && data.toString() === "ping") {
      ws.send("pong");
      return;
    }
    counters.messages++;
    for (const peer of room) if (peer !== ws && peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
  });
  ws.on("close", () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  });
  ws.on("error", () => {});
});

http.listen(0, "127.0.0.1", () => {
  const address = http.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => process.exit(0));
