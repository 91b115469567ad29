/**
 * A TCP proxy in front of the relay that can lose replies: `blackout(ms)`
 * keeps forwarding what clients send but throws away everything the relay
 * answers on the connections open at that moment, then resets them after
 * `ms`. That is the fault a plain `terminate()` at a random moment almost
 * never hits on loopback: the relay accepted a publish but its ack (or the
 * HTTP 201) never arrived, so the client must retry with the same id and the
 * relay must not publish it twice.
 *
 * Listens on 127.0.0.1 only; the upstream port is the relay's, which stays the
 * same across `EmbeddedRelay.restart()`.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

interface Pair {
  down: Socket;
  up: Socket;
  /** True while the relay's bytes for this connection are being thrown away. */
  deaf: boolean;
}

export class BlackoutProxy {
  private readonly pairs = new Set<Pair>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Chunks from the relay thrown away during blackouts. */
  lostReplies = 0;
  blackouts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<BlackoutProxy> {
    let proxy: BlackoutProxy | undefined;
    const server = createServer((down) => proxy?.accept(down, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("proxy has no port");
    proxy = new BlackoutProxy(server, address.port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Loses every reply on the open connections for `ms`, then resets them. */
  blackout(ms: number): void {
    const victims = [...this.pairs];
    if (victims.length === 0) return;
    this.blackouts++;
    for (const pair of victims) pair.deaf = true;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const pair of victims) this.drop(pair);
    }, ms);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(down: Socket, upstreamPort: number): void {
    const up = connect(upstreamPort, "127.0.0.1");
    const pair: Pair = { down, up, deaf: false };
    this.pairs.add(pair);
    // No backpressure handling: the chaos test's traffic is a few KiB a second.
    down.on("data", (chunk) => up.write(chunk));
    up.on("data", (chunk) => {
      if (pair.deaf) this.lostReplies++;
      else down.write(chunk);
    });
    // Either side ending (or the relay being down) ends both, as a dead link does.
    for (const s of [down, up]) {
      s.on("error", () => this.drop(pair));
      s.on("close", () => this.drop(pair));
    }
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    if (!pair.down.destroyed) pair.down.resetAndDestroy(); // an RST, not a FIN: the client learns from the error
    pair.up.destroy();
  }
}
