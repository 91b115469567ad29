/**
 * A scripted stand-in for a WebSocket, so the state machine can be driven
 * frame by frame under fake timers. Tests play the server's part through the
 * `server*` methods and read what the client sent from `sent`.
 */
import type { WebSocketLike } from "../../client/websocket";

export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  static get last(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error("no socket was created");
    return s;
  }
  static reset(): void {
    FakeSocket.all = [];
  }

  readyState = 0;
  binaryType = "blob";
  sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(String(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  /** Publish frames the client sent, parsed. */
  get publishes(): Array<{ type: string; id: string; data: unknown }> {
    return this.sent.filter((s) => s.startsWith("{")).map((s) => JSON.parse(s));
  }

  serverOpen(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(frame: object | string): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  welcome(fields: { seq: number; epoch?: string; recovered?: boolean; id?: string; room?: string }): void {
    if (this.readyState === 0) this.serverOpen();
    this.serverSend({
      type: "welcome",
      room: fields.room ?? "kitchen",
      id: fields.id ?? "conn-1",
      seq: fields.seq,
      epoch: fields.epoch ?? "e1",
      recovered: fields.recovered ?? false,
      count: 1,
    });
  }

  message(seq: number, data: unknown = { n: seq }, from = "other"): void {
    this.serverSend({ type: "message", room: "kitchen", seq, from, ts: 1, data });
  }

  serverClose(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}
