/**
 * Slow consumers. workerd gives a server-side WebSocket no `bufferedAmount`
 * (workerd issue #988): `send()` never blocks and never fails while the peer
 * stops reading, so the runtime queues everything for that peer in memory.
 * The fan-out is therefore never stalled by a slow socket, but its queue grows
 * without bound and, on Cloudflare, counts against the room's memory.
 *
 * Policy (as Centrifugo does): a socket that was sent more than `limitBytes`
 * and showed no sign of life (a frame, or a `ping` answered by the runtime)
 * for `graceMs` is closed with 4008; its client reconnects and resumes from
 * its last seq, so it loses nothing, and the room sheds the queue.
 *
 * Only sockets that have pinged at least once are held to this: a socket that
 * never sends anything gives no evidence either way (a quiet dashboard reads
 * fine without pinging), and shedding it would hurt healthy readers. The
 * client library pings every 20 s, so a client that hangs is caught.
 *
 * The counters are instance state on purpose: they only matter while the room
 * is busy sending, and a room that hibernates has nothing queued.
 */

interface Account {
  /** Bytes sent since the window started. */
  bytes: number;
  /** Last time the socket showed it was alive (ms). */
  lastSign: number;
  /** Already closed as slow: stop counting. */
  shed: boolean;
}

export class SendBudget {
  private readonly accounts = new WeakMap<WebSocket, Account>();

  constructor(
    private readonly limitBytes: number,
    private readonly graceMs: number,
    /** When the runtime last answered this socket's `ping`, if ever. */
    private readonly lastPing: (ws: WebSocket) => number,
  ) {}

  /** Counts `bytes` sent to `ws`; true when `ws` must now be closed as slow. */
  charge(ws: WebSocket, bytes: number): boolean {
    let account = this.accounts.get(ws);
    if (account === undefined) {
      account = { bytes: 0, lastSign: Date.now(), shed: false };
      this.accounts.set(ws, account);
    }
    account.bytes += bytes;
    if (account.bytes <= this.limitBytes || account.shed) return false;
    // Over budget: look at the evidence only now, not on every send.
    const now = Date.now();
    const lastPing = this.lastPing(ws);
    account.lastSign = Math.max(account.lastSign, lastPing);
    account.bytes = 0;
    if (lastPing === 0 || now - account.lastSign <= this.graceMs) return false;
    account.shed = true;
    return true;
  }

  /** The socket sent us a frame: it is alive. */
  alive(ws: WebSocket): void {
    const account = this.accounts.get(ws);
    if (account !== undefined) account.lastSign = Date.now();
  }
}
