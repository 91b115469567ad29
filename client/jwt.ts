/**
 * `roomcast/jwt`: the token helpers a client or a CLI signs with. The code
 * lives in protocol/jwt.ts, which the relay verifies with too, so the two
 * sides cannot disagree; this entry point only publishes it.
 */
export * from "../protocol/jwt.js";
