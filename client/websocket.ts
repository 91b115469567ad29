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

/** The `ws` package's constructor, which (unlike a browser's) can send headers. */
type HeaderWebSocketConstructor = new (url: string, protocols: undefined, options: { headers: Record<string, string> }) => WebSocketLike;

/**
 * Whether `ctor` is the `ws` package's class (or one like it), recognised by
 * its `ping()` method, which the browser's WebSocket does not have. Only such
 * a class is handed a token as an `Authorization` header: a URL is logged by
 * proxies and servers, a header is not. Browsers (and Node's own WebSocket)
 * still get `?token=`, the only way they have.
 */
export function canSendHeaders(ctor: WebSocketConstructor): boolean {
  return typeof (ctor as { prototype?: { ping?: unknown } }).prototype?.ping === "function";
}

/** Opens a socket, with the token in a header where the class allows it, else in the URL (`urlWithToken`). */
export function openWebSocket(
  ctor: WebSocketConstructor,
  url: string,
  urlWithToken: string,
  token: string | undefined,
): WebSocketLike {
  if (token === undefined) return new ctor(url);
  if (canSendHeaders(ctor)) return new (ctor as unknown as HeaderWebSocketConstructor)(url, undefined, { headers: { authorization: `Bearer ${token}` } });
  return new ctor(urlWithToken);
}

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
