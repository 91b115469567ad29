/**
 * The "roomcast-hook" system of `npm run bench`: Roomcast as a deployer's own
 * Worker builds it (docs/protocol.md, "A deployer's own Worker"), with one
 * publish hook that does nothing. Measured beside "roomcast" (no hooks), it
 * shows what running a hook costs on every publish: the await, the
 * HookMessage the Room makes for it, the answer it reads back.
 */
import { createRelay } from "../../../server";

const relay = createRelay({
  hooks: {
    async publish() {},
  },
});

export const Room = relay.Room;
export default relay;
