/**
 * `roomcast bridge`: a TCP MQTT listener for devices whose MQTT library has
 * no WebSocket (Arduino's PubSubClient, many C stacks). A Worker accepts no
 * raw TCP, so each TCP connection gets its own WebSocket to the room's
 * `/rooms/R/mqtt` and the bytes are piped both ways unchanged: the relay
 * sees one MQTT client per device, with its own CONNECT, session and will.
 *
 * Back-pressure both ways, so a slow side never makes the bridge buffer
 * without bound: the TCP socket is paused while the WebSocket's
 * bufferedAmount is above HIGH_WATER_BYTES (resumed once a send has drained
 * it below LOW_WATER_BYTES), and the WebSocket (its underlying socket) is
 * paused while the TCP write buffer is full (resumed on `drain`). When one
 * side closes, the other is closed too. `wss:` URLs are TLS to the relay.
 *
 * Node-only; uses the `ws` package (a peer dependency), loaded on first use
 * so the library never needs it.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type WsWebSocket from "ws";

/** Above this many bytes waiting in the WebSocket, the TCP side is paused. */
export const HIGH_WATER_BYTES = 1 << 20;
/** ... and resumed once a send completes with at most this many waiting. */
export const LOW_WATER_BYTES = 256 << 10;

export interface BridgeOptions {
  host: string;
  port: number;
  /** ws:// or wss:// URL of a room's MQTT endpoint, e.g. wss://relay.example/rooms/kitchen/mqtt (may carry ?token=). */
  url: string;
  /** One line per connection opened or closed. */
  log?: (line: string) => void;
}

export interface Bridge {
  address: AddressInfo;
  /** Stops listening and closes every connection (both sides). */
  close(): Promise<void>;
}

export async function startBridge(o: BridgeOptions): Promise<Bridge> {
  const { default: WebSocket } = await import("ws");
  const open = new Set<() => void>();
  let n = 0;
  const server: Server = createServer((tcp) => {
    const id = ++n;
    const stop = pipe(WebSocket, tcp, o.url, (why) => {
      open.delete(stop);
      o.log?.(`#${id} closed: ${why}`);
    });
    open.add(stop);
    o.log?.(`#${id} ${tcp.remoteAddress}:${tcp.remotePort} connected`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stop of [...open]) stop();
        server.close(() => resolve());
      }),
  };
}

/** One TCP connection and its WebSocket; returns how to close both. */
function pipe(WebSocket: typeof WsWebSocket, tcp: Socket, url: string, closed: (why: string) => void): () => void {
  // Nothing is read from the device until the WebSocket is open: its CONNECT waits in the kernel.
  tcp.pause();
  tcp.setNoDelay(true);
  // Binary frames, the `mqtt` subprotocol; no Origin (a device has none); no compression (MQTT payloads are small, and it would cost CPU per frame).
  const ws = new WebSocket(url, ["mqtt"], { perMessageDeflate: false });
  let done = false;
  const finish = (why: string) => {
    if (done) return;
    done = true;
    // end() lets what is buffered for the device go out first; the WebSocket closes normally.
    tcp.end();
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
    closed(why);
  };

  ws.on("open", () => tcp.resume());
  tcp.on("data", (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount <= LOW_WATER_BYTES && !done) tcp.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER_BYTES) tcp.pause();
  });
  ws.on("message", (data: Buffer) => {
    if (!tcp.write(data)) ws.pause();
  });
  tcp.on("drain", () => {
    if (ws.isPaused) ws.resume();
  });

  tcp.on("end", () => finish("device closed"));
  tcp.on("close", () => finish("device gone"));
  tcp.on("error", (e) => finish(`device error: ${e.message}`));
  ws.on("close", (code, reason) => finish(`relay closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ""}`));
  ws.on("error", (e) => {
    // A refused upgrade ("Unexpected server response: 403") or a broken link: the device sees its TCP connection end.
    finish(`relay error: ${e.message}`);
    tcp.destroy();
  });
  return () => finish("bridge stopping");
}

/** `host:port`, `:port` or `port` (host 127.0.0.1: listening on every interface must be asked for, e.g. 0.0.0.0:1883). */
export function parseListen(text: string): { host: string; port: number } | null {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  const host = m[1] === undefined || m[1] === "" ? "127.0.0.1" : m[1].replace(/^\[|\]$/g, "");
  return { host, port };
}
