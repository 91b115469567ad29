/**
 * Batch frames (`batch=1`, docs/protocol.md): the messages due to a reader
 * at once, in seq order, packed into as few text frames
 * `{"type":"batch","messages":[…]}` as fit in BATCH_FRAME_MAX_BYTES of UTF-8.
 * A frame that would hold one envelope is sent as that envelope (a plain
 * `message`): on this runtime the cost of a delivery is the frame, and a
 * batch of one saves nothing.
 *
 * The envelopes are joined as stored: no envelope is parsed or re-encoded.
 */
import { BATCH_FRAME_MAX_BYTES } from "../protocol";

const HEAD = '{"type":"batch","messages":[';
const TAIL = "]}";
const OVERHEAD = HEAD.length + TAIL.length;

/** A message as the packer needs it: its stored envelope and that envelope's UTF-8 size. */
export interface Packable {
  envelope: string;
  bytes: number;
}

/** UTF-8 length of `text`, without encoding it (a surrogate pair is 4 bytes: 2 units counted 2 each). */
export function utf8Bytes(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/**
 * Packs envelopes, given in seq order, into frames, handing each frame to
 * `emit` as soon as it is full: a replay never holds more than one frame.
 */
export class FramePacker {
  private parts: string[] = [];
  private bytes = OVERHEAD;

  constructor(private readonly emit: (frame: string) => void) {}

  add(envelope: string, bytes = utf8Bytes(envelope)): void {
    // +1: the comma before it
    if (this.parts.length > 0 && this.bytes + 1 + bytes > BATCH_FRAME_MAX_BYTES) this.flush();
    this.bytes += bytes + (this.parts.length > 0 ? 1 : 0);
    this.parts.push(envelope);
  }

  /** Sends what is packed (call it at the end of what is due). */
  flush(): void {
    const parts = this.parts;
    if (parts.length === 0) return;
    this.parts = [];
    this.bytes = OVERHEAD;
    this.emit(parts.length === 1 ? parts[0]! : HEAD + parts.join(",") + TAIL);
  }
}

/** The frames holding `due`, in order. */
export function packFrames(due: Iterable<Packable>): string[] {
  const frames: string[] = [];
  const packer = new FramePacker((f) => frames.push(f));
  for (const m of due) packer.add(m.envelope, m.bytes);
  packer.flush();
  return frames;
}

/**
 * One batch's frames for the readers that take batch frames, built once
 * per distinct selection of its messages: every unfiltered reader shares
 * the frames of the whole batch, readers with the same filter (or the same
 * publisher left out) share theirs. Never built per socket.
 */
export class SharedFrames {
  private sizes: number[] | null = null;
  private readonly built = new Map<string, string[]>();

  constructor(private readonly batch: readonly { envelope: string }[]) {}

  /** The frames of the messages at `picked` (indices into the batch, ascending); null: all of them. */
  frames(picked: readonly number[] | null): string[] {
    const key = picked === null ? "*" : picked.join(",");
    let frames = this.built.get(key);
    if (frames === undefined) {
      const sizes = (this.sizes ??= this.batch.map((m) => utf8Bytes(m.envelope)));
      const indices = picked ?? this.batch.map((_, i) => i);
      frames = packFrames(indices.map((i) => ({ envelope: this.batch[i]!.envelope, bytes: sizes[i]! })));
      this.built.set(key, frames);
    }
    return frames;
  }
}
