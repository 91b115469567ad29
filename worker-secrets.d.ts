// Secrets (and opt-in vars that production leaves unset) are not in wrangler.toml, so `npm run cf-typegen` leaves them out
// of the generated Env (it reads no .dev.vars: the committed types must not
// depend on one machine's secrets). They are declared here instead, optional
// because unset is a real state: without AUTH_SECRET the relay runs in open
// mode (docs/security.md).
declare namespace Cloudflare {
  interface Env {
    /** HS256 key room tokens are signed with; unset or empty: open mode. */
    AUTH_SECRET?: string;
    /** "1": serve GET /rooms/:room/diagnostics (tests and the benchmark only). */
    DIAGNOSTICS?: string;
    /** Limits that production may set; unset, the defaults of protocol/limits.ts apply. */
    JOIN_RATE_PER_SECOND?: string;
    JOIN_RATE_BURST?: string;
    RESUME_WINDOW_SECONDS?: string;
    MQTT_CONNECT_TIMEOUT_SECONDS?: string;
    REVOCATION_SWEEP_SECONDS?: string;
    MQTT_MAX_KEEPALIVE_SECONDS?: string;
    SLOW_CONSUMER_BYTES?: string;
    SLOW_CONSUMER_GRACE_SECONDS?: string;
    /** Sinks and lifecycle events (docs/integrations.md): off unless set. */
    SINKS?: string;
    EVENTS?: string;
    /** Key of the webhooks' HMAC-SHA256 signature (a secret). */
    WEBHOOK_SECRET?: string;
    SINK_MAX_PENDING_MESSAGES?: string;
    SINK_MAX_PENDING_BYTES?: string;
    SINK_RETRY_BASE_MS?: string;
    SINK_RETRY_MAX_MS?: string;
    SINK_TIMEOUT_MS?: string;
  }
}
