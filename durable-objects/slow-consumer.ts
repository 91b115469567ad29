/**
 * Slow consumers. workerd gives a server-side WebSocket no `bufferedAmount`
 * (workerd issue #988): `send()` never blocks and never fails while the peer
 * stops reading, so the runtime queues everything for that peer in memory.
 * The fan-out is therefore never stalled by a slow socket, but its queue can
 * grow, and on Cloudflare it counts against the room's memory.
 *
 * So the room decides from what it does know: how many bytes it sent a
 * socket since that socket last showed life (a frame, or a `ping` answered by
 * the runtime; connecting counts as one). A socket is closed with 4008 (its
 * client reconnects and resumes from its last seq: nothing is lost) when,
 * past `limitBytes` sent without a sign of life,
 * - it has shown none for `graceMs` either, or
 * - the bytes reach HARD_FACTOR × `limitBytes`, however recent its last sign.
 * A socket that never pings is held to the same rule (a quiet reader of a
 * busy room is asked to reconnect now and then; the client library pings
 * every 20 s and never notices).
 *
 * The counters are instance state on purpose: they only matter while the room
 * is busy sending, and a room that hibernates has nothing queued.
 */

/** However lively a socket is, this many budgets unsent-to without a sign of life close it. */
export const HARD_FACTOR = 4;

interface Account {
  /** Bytes sent since `since`. */
  bytes: number;
  /** Start of the current window: the last sign of life seen at a check. */
  since: number;
  /** Next `bytes` value at which the evidence is looked at again. */
  nextCheck: number;
  /** Already closed as slow: stop counting. */
  shed: boolean;
}

/** What a socket was sent because it asked, in the current window (see SendBudget.answer). */
interface Answers {
  bytes: number;
  since: number;
}

export class SendBudget {
  private readonly accounts = new WeakMap<WebSocket, Account>();
  private readonly answers = new WeakMap<WebSocket, Answers>();

  constructor(
    private readonly limitBytes: number,
    private readonly graceMs: number,
    /** When the runtime last answered this socket's `ping`, if ever (ms, 0 = never). */
    private readonly lastPing: (ws: WebSocket) => number,
  ) {}

  /** Counts `bytes` sent to `ws`; true when `ws` must now be closed as slow. */
  charge(ws: WebSocket, bytes: number): boolean {
    const now = Date.now();
    let account = this.accounts.get(ws);
    if (account === undefined) {
      account = { bytes: 0, since: now, nextCheck: this.limitBytes, shed: false };
      this.accounts.set(ws, account);
    }
    if (account.shed) return false;
    account.bytes += bytes;
    if (account.bytes <= account.nextCheck) return false;
    // Over budget: look at the evidence only now, not on every send.
    const lastPing = this.lastPing(ws);
    if (lastPing > account.since) {
      account.since = lastPing;
      account.bytes = 0;
      account.nextCheck = this.limitBytes;
      return false;
    }
    account.nextCheck = account.bytes + this.limitBytes / 4;
    if (now - account.since <= this.graceMs && account.bytes < HARD_FACTOR * this.limitBytes) return false;
    account.shed = true;
    return true;
  }

  /**
   * Bytes sent because the socket asked for them (retained values on an
   * upgrade with `retained=1` or on an MQTT SUBSCRIBE): at most `limitBytes`
   * per window (at least one frame), the window renewed by a ping the
   * runtime answered since it began, or after `graceMs`. A frame from the
   * socket does not renew it: asking again is no sign of reading, so
   * repeating a SUBSCRIBE cannot make the room hold more for a reader that
   * does not read. False: past the allowance, nothing counted (send no more).
   * Allowed bytes are charged as any send is (`charge`).
   */
  answer(ws: WebSocket, bytes: number): boolean {
    const now = Date.now();
    let window = this.answers.get(ws);
    if (window === undefined || this.lastPing(ws) > window.since || now - window.since > this.graceMs) {
      window = { bytes: 0, since: now };
      this.answers.set(ws, window);
    }
    if (window.bytes > 0 && window.bytes + bytes > this.limitBytes) return false;
    window.bytes += bytes;
    return true;
  }

  /** The socket sent us a frame: it is alive. */
  alive(ws: WebSocket): void {
    const account = this.accounts.get(ws);
    if (account !== undefined) {
      account.since = Date.now();
      account.bytes = 0;
      account.nextCheck = this.limitBytes;
    }
  }
}
