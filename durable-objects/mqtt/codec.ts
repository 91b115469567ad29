/**
 * MQTT bytes <-> packets for one connection, over mqtt-packet (which needs
 * `nodejs_compat`).
 *
 * Framing is ours, decoding is mqtt-packet's: we cut the byte stream into whole
 * packets (fixed header + Remaining Length) and hand the parser one whole packet
 * at a time. So the parser never holds half a packet, and the only state
 * between WebSocket frames is `pending` — the raw bytes of an incomplete packet
 * — which the adapter can keep in the socket's attachment across hibernation
 * (see `MAX_PENDING_BYTES`) and give back to `restore`.
 */
import { Buffer } from "node:buffer";
import mqtt from "mqtt-packet";
import type { Packet } from "mqtt-packet";

export type MqttVersion = 4 | 5;
export type { Packet };

/**
 * At most this many bytes of an incomplete packet are carried across frames
 * (and so in the hibernation attachment, which is at most 16 KiB). Clients
 * send whole packets per frame in practice; more than this pending is a
 * client splitting a large PUBLISH over frames, which we refuse.
 */
export const MAX_PENDING_BYTES = 8 * 1024;

/**
 * The packet limit for a payload limit (MAX_MESSAGE_BYTES): room for the
 * fixed header, a 256-byte topic, the packet id and some 5.0 properties.
 */
export function packetLimitFor(maxPayloadBytes: number): number {
  return maxPayloadBytes + 1024;
}

export type DecodeError =
  /** Bad Remaining Length, bad flags, bad fields: MQTT "Malformed Packet". */
  | { kind: "malformed"; message: string }
  /** A packet longer than the connection's limit (5.0 reason 0x95). */
  | { kind: "too_large"; message: string }
  /**
   * The first packet is a CONNECT whose protocol level the parser does not
   * know (not 3, 4 or 5): answer CONNACK "unacceptable protocol version".
   */
  | { kind: "bad_protocol_level"; level: number; message: string };

export interface DecodeResult {
  packets: Packet[];
  /** Set when the stream is broken: the packets before it are still valid, nothing after. */
  error?: DecodeError;
}

export interface CodecState {
  version: MqttVersion | null;
  /** Raw bytes of an incomplete packet. */
  pending: Uint8Array;
}

export class MqttCodec {
  private version: MqttVersion | null;
  private pending: Uint8Array;
  private readonly parser: ReturnType<typeof mqtt.parser>;
  private parsed: Packet[] = [];
  private parseError: Error | null = null;

  /** `maxPacketBytes` bounds a whole packet (header included), e.g. MAX_MESSAGE_BYTES plus header room. */
  constructor(
    private readonly maxPacketBytes: number,
    state: CodecState = { version: null, pending: new Uint8Array(0) },
  ) {
    this.version = state.version;
    this.pending = state.pending;
    this.parser = mqtt.parser(this.version ? { protocolVersion: this.version } : {});
    this.parser.on("packet", (p: Packet) => this.parsed.push(p));
    this.parser.on("error", (e: Error) => (this.parseError = e));
  }

  /** What must survive hibernation; small enough for an attachment when `pending` is under MAX_PENDING_BYTES. */
  state(): CodecState {
    return { version: this.version, pending: this.pending };
  }

  /** The protocol level agreed in CONNECT (null before it). */
  get protocolVersion(): MqttVersion | null {
    return this.version;
  }

  /** Fixes the level once CONNECT is accepted, so later packets decode (and encode) as 4 or 5. */
  setVersion(version: MqttVersion): void {
    this.version = version;
    (this.parser as unknown as { settings: object }).settings = { protocolVersion: version };
  }

  /** Feed one WebSocket frame; returns every whole packet it completes. */
  decode(frame: Uint8Array): DecodeResult {
    let bytes = frame;
    if (this.pending.length > 0) {
      bytes = new Uint8Array(this.pending.length + frame.length);
      bytes.set(this.pending, 0);
      bytes.set(frame, this.pending.length);
    }
    const packets: Packet[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const header = readFixedHeader(bytes, offset);
      if (header === "malformed") return this.fail(packets, { kind: "malformed", message: "bad Remaining Length" });
      if (header === null) break; // header itself incomplete
      const total = header.headerBytes + header.remainingLength;
      if (total > this.maxPacketBytes) {
        return this.fail(packets, { kind: "too_large", message: `packet of ${total} bytes is over ${this.maxPacketBytes}` });
      }
      if (offset + total > bytes.length) break;
      const one = this.parseOne(bytes.subarray(offset, offset + total));
      if ("kind" in one) return this.fail(packets, one);
      packets.push(one);
      offset += total;
    }
    this.pending = bytes.slice(offset);
    if (this.pending.length > MAX_PENDING_BYTES) {
      return this.fail(packets, { kind: "too_large", message: `over ${MAX_PENDING_BYTES} bytes of a packet split across frames` });
    }
    return { packets };
  }

  /** Bytes of one packet, in the agreed level (or `version`: a refusing CONNACK goes out before any level is agreed). */
  encode(packet: Packet, version: MqttVersion | null = this.version): Uint8Array {
    return mqtt.generate(packet, { protocolVersion: version ?? 4 });
  }

  private parseOne(packetBytes: Uint8Array): Packet | DecodeError {
    this.parsed = [];
    this.parseError = null;
    // mqtt-packet wants a Buffer; this view shares the bytes, no copy.
    this.parser.parse(Buffer.from(packetBytes.buffer, packetBytes.byteOffset, packetBytes.byteLength));
    if (this.parseError) {
      const message = String((this.parseError as Error).message);
      if (this.version === null && message === "Invalid protocol version") {
        return { kind: "bad_protocol_level", level: connectProtocolLevel(packetBytes) ?? 0, message };
      }
      return { kind: "malformed", message };
    }
    const packet = this.parsed[0];
    if (!packet || this.parsed.length !== 1) return { kind: "malformed", message: "packet length does not match its content" };
    return packet;
  }

  private fail(packets: Packet[], error: DecodeError): DecodeResult {
    this.pending = new Uint8Array(0);
    return { packets, error };
  }
}

/** Fixed header: 1 type byte, then Remaining Length as 1..4 bytes of 7 bits. */
function readFixedHeader(
  bytes: Uint8Array,
  offset: number,
): { headerBytes: number; remainingLength: number } | null | "malformed" {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (offset + i >= bytes.length) return null;
    const b = bytes[offset + i]!;
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) return { headerBytes: 1 + i, remainingLength: value };
    multiplier *= 128;
  }
  return "malformed";
}

/** The protocol level byte of a CONNECT packet, read directly (the parser refuses unknown levels before telling us). */
function connectProtocolLevel(packet: Uint8Array): number | null {
  const header = readFixedHeader(packet, 0);
  if (header === null || header === "malformed") return null;
  const at = header.headerBytes;
  if (at + 2 > packet.length) return null;
  const nameLength = (packet[at]! << 8) | packet[at + 1]!;
  const levelAt = at + 2 + nameLength;
  return levelAt < packet.length ? packet[levelAt]! & 0x7f : null;
}
