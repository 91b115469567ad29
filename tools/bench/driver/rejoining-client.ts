/**
 * One client of the reconnect wave, behaving as a well-behaved client does:
 * it remembers the room's epoch and the last seq it saw, and when it has to
 * come back it resumes with `since`/`epoch` (Roomcast) and retries a refused
 * or failed handshake: after `Retry-After` plus jitter on a 503, after 1-2 s
 * on anything else (an error, another status, a close before the welcome,
 * no answer within the handshake timeout). The scenario decides when it
 * tries (holding it while the system restarts); the shared counters say how
 * the wave went.
 */
import WebSocket from "ws";
import type { SubscriberTally } from "../../load/index.js";
import { sleep } from "../../load/wait.js";
import { speaksRoomcast, type SystemEndpoint } from "../systems/system.js";
import { decode, socketUrl } from "./wire.js";

export interface WaveCounters {
  attempts: number;
  refused503: number;
  failed: number;
  timedOut: number;
  notRecovered: number;
  dropped: number;
  /** Clients connected (Roomcast: welcomed) right now. */
  back: number;
}

export const newWaveCounters = (): WaveCounters => ({ attempts: 0, refused503: 0, failed: 0, timedOut: 0, notRecovered: 0, dropped: 0, back: 0 });

type Attempt = { back: true } | { back: false; retryInMs: number };

/** 1-2 s: the pause after a failed or timed-out handshake. */
const failedPause = () => 1000 + Math.random() * 1000;

export class RejoiningClient {
  private ws: WebSocket | null = null;
  private epoch: string | null = null;
  private isBack = false;
  /** Set by the scenario while the system restarts (a close is expected) and at the end. */
  holding = false;
  /** Until when a client dropped after it was back keeps trying (the wave's deadline). */
  rejoinDeadline = 0;

  constructor(
    private readonly endpoint: SystemEndpoint,
    private readonly room: string,
    private readonly sub: SubscriberTally,
    private readonly counters: WaveCounters,
    private readonly handshakeTimeoutMs: number,
  ) {}

  /** The highest seq this client has seen. */
  get lastSeq(): number {
    return this.sub.lastSeq;
  }

  get back(): boolean {
    return this.isBack;
  }

  /** Tries until back or `deadline` (Date.now()); resumes when it has an epoch to resume in. */
  async join(deadline: number): Promise<boolean> {
    while (!this.holding && Date.now() < deadline) {
      const outcome = await this.attempt();
      if (outcome.back) return true;
      await sleep(Math.min(outcome.retryInMs, deadline - Date.now()));
    }
    return this.isBack;
  }

  /** Closes without reconnecting. */
  stop(): void {
    this.holding = true;
    this.ws?.terminate();
  }

  private attempt(): Promise<Attempt> {
    this.counters.attempts++;
    const resume = speaksRoomcast(this.endpoint.name) && this.epoch !== null ? { since: this.sub.lastSeq, epoch: this.epoch } : undefined;
    const ws = new WebSocket(socketUrl(this.endpoint, this.room, { resume }), { perMessageDeflate: false });
    this.ws = ws;
    const wantsWelcome = speaksRoomcast(this.endpoint.name);
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      const settle = (a: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (a.back) {
          this.isBack = true;
          this.counters.back++;
        } else {
          ws.terminate();
        }
        resolve(a);
      };
      // A handshake cut off by stop() (the end of the wave) is no failure of the system's.
      const count = (counter: "failed" | "timedOut") => {
        if (!this.holding) this.counters[counter]++;
      };
      const timer = setTimeout(() => {
        count("timedOut");
        settle({ back: false, retryInMs: failedPause() });
      }, this.handshakeTimeoutMs);
      ws.on("unexpected-response", (req, res) => {
        res.resume();
        req.destroy();
        if (res.statusCode === 503) {
          this.counters.refused503++;
          const seconds = Number(res.headers["retry-after"]);
          const wait = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 + Math.random() * 1000 : failedPause();
          settle({ back: false, retryInMs: wait });
        } else {
          this.counters.failed++;
          settle({ back: false, retryInMs: failedPause() });
        }
      });
      ws.on("error", () => {
        if (settled) return;
        count("failed");
        settle({ back: false, retryInMs: failedPause() });
      });
      ws.on("open", () => {
        if (!wantsWelcome) settle({ back: true });
      });
      ws.on("message", (frame: Buffer, isBinary: boolean) => {
        const text = isBinary ? frame : frame.toString();
        if (wantsWelcome && !settled && typeof text === "string") {
          const welcome = JSON.parse(text) as { type?: string; epoch?: string; recovered?: boolean };
          if (welcome.type === "welcome") {
            if (resume && !welcome.recovered) this.counters.notRecovered++;
            this.epoch = welcome.epoch ?? null;
            settle({ back: true });
            return;
          }
        }
        for (const delivered of decode(this.endpoint, text)) this.sub.record(delivered.seq, delivered.data);
      });
      ws.on("close", () => {
        if (!settled) {
          count("failed"); // closed before the welcome
          settle({ back: false, retryInMs: failedPause() });
          return;
        }
        if (this.ws !== ws || !this.isBack) return;
        this.isBack = false;
        this.counters.back--;
        if (this.holding) return;
        // Dropped after it was back: a well-behaved client comes back and resumes.
        this.counters.dropped++;
        void this.join(this.rejoinDeadline);
      });
    });
  }
}
