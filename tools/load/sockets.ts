/**
 * Plain sockets in bulk, for loads that are not Roomcast clients (the
 * benchmark drives Roomcast and the systems it is compared with through the
 * same sockets): `openSockets` opens `count` WebSockets to one URL with at
 * most `concurrency` handshakes in flight, and resolves once all are open
 * (or rejects on the first that fails). No reconnects: a benchmark socket
 * that drops shows up as loss.
 */
import WebSocket from "ws";

export interface OpenSocketsOptions {
  /** Handshakes in flight at once (a burst of thousands would only measure the accept queue). */
  concurrency?: number;
  /** Called for every frame, with the socket's index; text frames arrive as strings. */
  onMessage?: (index: number, data: string | Buffer) => void;
  /** Called as each socket opens, with the number open so far. */
  onOpen?: (opened: number) => void;
  /** Date.now() after which no new handshake starts: the result then holds only the sockets opened by then. */
  stopStartingAt?: number;
  /**
   * When given, a handshake that fails is reported here and the fill goes on
   * (the result then leaves that socket out); without it the first failure
   * rejects.
   */
  onFailure?: (index: number, error: Error) => void;
}

export async function openSockets(url: string, count: number, options: OpenSocketsOptions = {}): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(count);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 50, count));
  let next = 0;
  let opened = 0;
  const openOne = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      sockets[index] = ws;
      ws.on("message", (data: Buffer, isBinary: boolean) => options.onMessage?.(index, isBinary ? data : data.toString()));
      ws.once("open", () => {
        options.onOpen?.(++opened);
        resolve();
      });
      ws.on("error", reject); // after the open this is a no-op; the close that follows is what counts
    });
  const stopAt = options.stopStartingAt ?? Infinity;
  const failed = new Set<number>();
  const lane = async () => {
    while (next < count && Date.now() < stopAt) {
      const index = next++;
      if (!options.onFailure) {
        await openOne(index);
        continue;
      }
      await openOne(index).catch((error: unknown) => {
        failed.add(index);
        sockets[index]?.terminate();
        options.onFailure!(index, error instanceof Error ? error : new Error(String(error)));
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const started = next < count ? sockets.slice(0, next) : sockets;
  return failed.size === 0 ? started : started.filter((_, i) => !failed.has(i));
}

/** Closes every socket without waiting for close frames (the server still sees each close). */
export function terminateAll(sockets: Iterable<WebSocket | undefined>): void {
  for (const ws of sockets) ws?.terminate();
}
