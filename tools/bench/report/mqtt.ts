/** The MQTT rows of a run: MQTT fan-out beside Roomcast's JSON fan-out at the same N, and the idle devices' wake-ups. */
import { faults, type BenchResults } from "./results.js";

export function mqttTable(r: BenchResults): string {
  const m = r.mqtt;
  if (!m) return "";
  const lines = ["| measurement (Roomcast) | JSON WebSocket | MQTT QoS 0 | MQTT QoS 1 | MQTT QoS 2 |", "|---|---|---|---|---|"];
  const counts = [...new Set(m.fanout.map((p) => p.subscribers))].sort((a, b) => a - b);
  const cell = (v: number | undefined) => (v === undefined ? "–" : v.toLocaleString("en-US"));
  for (const n of counts) {
    const json = r.fanout.roomcast?.find((p) => p.subscribers === n)?.msgsPerSec;
    const at = (qos: 0 | 1 | 2) => m.fanout.find((p) => p.subscribers === n && p.qos === qos);
    const lost = m.fanout.filter((p) => p.subscribers === n).reduce((s, p) => s + faults(p), 0);
    lines.push(`| fan-out N=${n} (msg/s)${lost > 0 ? ` — ${lost} lost/dup/out of order` : ""} | ${cell(json)} | ${cell(at(0)?.msgsPerSec)} | ${cell(at(1)?.msgsPerSec)} | ${cell(at(2)?.msgsPerSec)} |`);
  }
  if (m.idle) {
    lines.push(`| ${m.idle.devices} idle MQTT devices, one PINGREQ each after eviction (evicted: ${m.idle.evicted}) | – | wake-ups ${m.idle.wakeups} (PINGRESPs ${m.idle.pingresps}) | – | – |`);
  }
  return lines.join("\n");
}
