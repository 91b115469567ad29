/**
 * A tiny stand-in relay over real sockets (`ws` + node:http) for the parts the
 * real relay cannot be steered into on demand: closing with 4401/4403,
 * refusing an upgrade, recording exactly what the CLI sent. It speaks just
 * enough of the protocol: welcome, publish → ack (idempotent on id),
 * `ping` → `pong`, and POST /rooms/:room/messages.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

export interface MockConnection {
  socket: WebSocket;
  url: URL;
  /** The upgrade request's headers (`authorization` among them). */
  headers: IncomingMessage["headers"];
}

export interface MockRelay {
  url: string;
  connections: MockConnection[];
  posts: Array<{ url: string; headers: IncomingMessage["headers"]; body: string }>;
  /** Decides what happens to each new socket; default: welcome it. */
  onConnection: (conn: MockConnection, index: number) => void;
  /** Refuse upgrades with this HTTP status while set. */
  refuseWith: number | undefined;
  welcome(conn: MockConnection, seq?: number): void;
  close(): Promise<void>;
}

export async function startMockRelay(): Promise<MockRelay> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const acks = new Map<string, number>();
  let seq = 0;

  const relay: MockRelay = {
    url: "",
    connections: [],
    posts: [],
    refuseWith: undefined,
    onConnection: (conn) => relay.welcome(conn),
    welcome(conn, at = seq) {
      conn.socket.send(
        JSON.stringify({ type: "welcome", room: "kitchen", id: `c${relay.connections.indexOf(conn)}`, seq: at, epoch: "mock", recovered: false, count: 1 }),
      );
    },
    close: async () => {
      for (const c of relay.connections) c.socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  server.on("upgrade", (req, socket, head) => {
    if (relay.refuseWith) {
      socket.end(`HTTP/1.1 ${relay.refuseWith} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = { socket: ws, url: new URL(req.url ?? "/", "http://x"), headers: req.headers };
      relay.connections.push(conn);
      ws.on("message", (raw, isBinary) => {
        const text = raw.toString();
        if (!isBinary && text === "ping") return ws.send("pong");
        const frame = JSON.parse(text) as { type: string; id?: string; data: unknown };
        if (frame.type !== "publish") return;
        let s = frame.id ? acks.get(frame.id) : undefined;
        if (s === undefined) {
          s = ++seq;
          if (frame.id) acks.set(frame.id, s);
        }
        if (frame.id) ws.send(JSON.stringify({ type: "ack", id: frame.id, seq: s }));
      });
      relay.onConnection(conn, relay.connections.length - 1);
    });
  });

  server.on("request", (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      relay.posts.push({ url: req.url ?? "", headers: req.headers, body });
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ seq: ++seq, epoch: "mock" }));
    });
  });

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return relay;
}
