/**
 * A `ws` client for tests: it records every frame and lets a test wait for
 * the frames it expects, failing with what it did see when they do not come.
 */
import WebSocket from "ws";

export interface Frame {
  text: string | null;
  binary: Buffer | null;
  /** Parsed JSON of a text frame, or null. */
  json: any;
}

export class TestSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      let json: any = null;
      const text = isBinary ? null : buf.toString("utf8");
      if (text !== null) {
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
      }
      this.frames.push({ text, binary: isBinary ? buf : null, json });
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on("error", () => this.wake());
  }

  /** Opens a socket; resolves once open (rejects with the HTTP status if refused). */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const socket = new TestSocket(ws);
      ws.once("open", () => resolve(socket));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
      ws.once("error", reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `predicate` holds over the frames seen so far. */
  async until<T>(predicate: (frames: Frame[]) => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = predicate(this.frames);
      if (result) return result;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.frames.slice(-10).map((f) => f.text ?? `<binary ${f.binary?.length}>`);
        throw new Error(`timed out waiting for ${what}; last frames: ${JSON.stringify(seen)}; closed: ${JSON.stringify(this.closed)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The n-th (default first) JSON frame of a type, waiting for it. */
  next(type: string, match: (f: any) => boolean = () => true, timeoutMs?: number): Promise<any> {
    return this.until((fs) => fs.find((f) => f.json?.type === type && match(f.json))?.json, `a ${type} frame`, timeoutMs);
  }

  /** Every JSON frame of a type seen so far. */
  all(type: string): any[] {
    return this.frames.filter((f) => f.json?.type === type).map((f) => f.json);
  }

  messages(): any[] {
    return this.all("message");
  }

  /** Waits until `count` message envelopes have arrived. */
  async messagesUntil(count: number, timeoutMs = 15_000): Promise<any[]> {
    await this.until((fs) => fs.filter((f) => f.json?.type === "message").length >= count, `${count} messages`, timeoutMs);
    return this.messages();
  }

  send(data: string | Buffer | object): void {
    this.ws.send(typeof data === "string" || Buffer.isBuffer(data) ? data : JSON.stringify(data));
  }

  publish(data: unknown, id?: string): void {
    this.send({ type: "publish", data, ...(id === undefined ? {} : { id }) });
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, "close", timeoutMs);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A room name unique to this test run, so tests never share state by accident. */
export function uniqueRoom(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
