/**
 * Finding a WebSocket implementation without tying the library to Node:
 * the `WebSocket` option first, then `globalThis.WebSocket` (browsers, Deno,
 * Bun, Node 22+), then the optional `ws` package loaded on demand. The `ws`
 * import uses a computed specifier so browser bundlers never try to pull it in.
 */
import { RoomcastError } from "./errors.js";

/**
 * The part of the WHATWG WebSocket the client uses. Both the browser's class
 * and `ws`'s class fit it. Handler events are typed loosely on purpose: the
 * two implementations declare different event classes, and the client reads
 * only `data`, `code`, `reason` and `message` from them.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onopen: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onmessage: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onclose: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `readyState` value of an open socket (the same in every implementation). */
export const OPEN = 1;

export async function resolveWebSocket(explicit?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (explicit) return explicit;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === "function") return global as WebSocketConstructor;
  const specifier = "ws";
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor === "function") return ctor;
  } catch {
    // fall through to the explanation below
  }
  throw new RoomcastError(
    "no_websocket",
    "roomcast: no WebSocket implementation found; pass the `WebSocket` option or install the `ws` package",
  );
}
