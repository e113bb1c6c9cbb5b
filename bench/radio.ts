// A battery proxy: how long a phone's radio stays on for a list of requests, after the radio
// models of AT&T's ARO profiles (the constants below) and Android's note that a request every
// 15 s can keep the mobile radio on for good.

export type RadioModel = {
  name: string;
  /** Waking the radio before the first byte. */
  promotionS: number;
  /** How long the radio stays on after the last byte of a transfer. */
  tailS: number;
};

export const RADIO_MODELS: RadioModel[] = [
  // ARO LTE profile: promotion ≈ 0.26 s at 1.21 W, tail ≈ 10.1 s at 1.06 W.
  { name: 'LTE', promotionS: 0.26, tailS: 10.1 },
  // 3G: a ≈ 5 s tail in the high-power state, then ≈ 12 s in the shared one; promotion not modelled.
  { name: '3G', promotionS: 0, tailS: 17 },
  // WiFi: tail ≈ 0.25 s at 0.40 W; promotion not modelled.
  { name: 'WiFi', promotionS: 0, tailS: 0.25 },
];

export type Interval = { startMs: number; endMs: number };

/**
 * Requests that start within the tail of the previous one's end share one wake-up; each wake-up
 * is on from its first start to its last end, plus the tail, plus the promotion.
 */
export function radioCost(requests: Interval[], model: RadioModel): { wakeUps: number; activeS: number; on: Interval[] } {
  const sorted = [...requests].sort((a, b) => a.startMs - b.startMs);
  const on: Interval[] = [];
  const tailMs = model.tailS * 1000;
  for (const r of sorted) {
    const last = on.at(-1);
    if (last && r.startMs <= last.endMs + tailMs) last.endMs = Math.max(last.endMs, r.endMs);
    else on.push({ startMs: r.startMs, endMs: r.endMs });
  }
  const activeS = on.reduce((sum, w) => sum + (w.endMs + tailMs - w.startMs) / 1000 + model.promotionS, 0);
  return { wakeUps: on.length, activeS, on: on.map((w) => ({ startMs: w.startMs - model.promotionS * 1000, endMs: w.endMs + tailMs })) };
}
