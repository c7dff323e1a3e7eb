import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePingLog, SeqUnwrapper } from '../../../src/measure/ping-log.js';
import { pairStats, summarize, formatMeasureTable } from '../../../src/measure/gaps.js';

// Real iputils 20221126 output shapes (ping -n -D -O -i 0.01 -W 1).
const clean = `PING 10.244.2.253 (10.244.2.253) 56(84) bytes of data.
[1795316907.104468] 64 bytes from 10.244.2.253: icmp_seq=1 ttl=62 time=0.230 ms
[1795316907.114015] 64 bytes from 10.244.2.253: icmp_seq=2 ttl=62 time=0.045 ms
[1795316907.124117] 64 bytes from 10.244.2.253: icmp_seq=3 ttl=62 time=0.038 ms

--- 10.244.2.253 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 67ms
rtt min/avg/max/mdev = 0.036/0.077/0.230/0.076 ms
`;

/** A log of `n` packets every 10 ms from t0, with the given sequence numbers unanswered (-O lines for them). */
function synth(n: number, lost: ReadonlySet<number>, opts: { stats?: boolean; errors?: number[] } = {}): string {
  const t0 = 1795316900;
  const lines = ['PING 10.244.3.253 (10.244.3.253) 56(84) bytes of data.'];
  for (let s = 1; s <= n; s++) {
    const t = (t0 + s * 0.01).toFixed(6);
    if (lost.has(s)) lines.push(`[${(t0 + (s + 1) * 0.01).toFixed(6)}] no answer yet for icmp_seq=${s % 65536}`);
    else lines.push(`[${t}] 64 bytes from 10.244.3.253: icmp_seq=${s % 65536} ttl=62 time=0.100 ms`);
  }
  for (const e of opts.errors ?? []) lines.push(`[${(t0 + e * 0.01).toFixed(6)}] From 10.244.1.1 icmp_seq=${e} Destination Host Unreachable`);
  if (opts.stats !== false) lines.push('', '--- 10.244.3.253 ping statistics ---', `${n} packets transmitted, ${n - lost.size} received, ${opts.errors?.length ? `+${opts.errors.length} errors, ` : ''}1% packet loss, time 999ms`);
  return lines.join('\n') + '\n';
}

test('a clean log: every reply, statistics, rtt', () => {
  const l = parsePingLog(clean);
  assert.equal(l.target, '10.244.2.253');
  assert.deepEqual(l.replies.map((r) => r.seq), [1, 2, 3]);
  assert.equal(l.replies[0]!.rttMs, 0.23);
  assert.equal(l.transmitted, 3);
  assert.equal(l.received, 3);
  const s = pairStats('h1', 'h2', l, { intervalMs: 10, inFlightMs: 0 });
  assert.equal(s.lost, 0);
  assert.equal(s.longestGapMs, 0);
  assert.ok(Math.abs(s.maxSilenceMs - 10.1) < 0.01, `maxSilence ${s.maxSilenceMs}`);
});

test('no-answer lines, ICMP errors and duplicates are told apart', () => {
  const text = synth(10, new Set([4, 5]), { errors: [4] }) + '[1795316901.0] 64 bytes from 10.244.3.253: icmp_seq=3 ttl=62 time=0.1 ms (DUP!)\n';
  const l = parsePingLog(text);
  assert.deepEqual(l.noAnswer.map((n) => n.seq), [4, 5]);
  assert.deepEqual(l.errors.map((e) => [e.seq, e.text]), [[4, 'Destination Host Unreachable']]);
  assert.equal(l.duplicates, 1);
  assert.equal(l.replies.length, 8);
});

test('loss runs: lost count, longest run, gap timed from the replies around it', () => {
  // 1000 packets; runs 100..102 (3) and 500..549 (50)
  const lost = new Set<number>([100, 101, 102]);
  for (let s = 500; s < 550; s++) lost.add(s);
  const st = pairStats('h1', 'h3', parsePingLog(synth(1000, lost)), { intervalMs: 10 });
  assert.equal(st.sent, 990); // the last 100 ms are in flight, not judged
  assert.equal(st.lost, 53);
  assert.equal(st.lossRuns, 2);
  assert.equal(st.longestRun, 50);
  // reply 499 at +4.99 s, next reply 550 at +5.50 s: 510 ms without replies
  assert.ok(Math.abs(st.longestGapMs - 510) < 0.5, `gap ${st.longestGapMs}`);
  assert.ok(Math.abs(st.longestGapAt! - (1795316900 + 4.99)) < 1e-6);
  assert.equal(st.lossPct, 5.35);
});

test('the in-flight tail is not judged; loss before it is, even at the very end', () => {
  const tailOnly = pairStats('a', 'b', parsePingLog(synth(200, new Set([199, 200]))), { intervalMs: 10 });
  assert.equal(tailOnly.lost, 0);
  const lateLoss = new Set<number>();
  for (let s = 150; s <= 200; s++) lateLoss.add(s);
  const late = pairStats('a', 'b', parsePingLog(synth(200, lateLoss)), { intervalMs: 10 });
  assert.equal(late.lost, 41); // 150..190 judged
  assert.equal(late.longestGapMs, 420); // no reply after: (41 + 1) × 10 ms
});

test('a pinger without statistics (killed) is flagged and judged on what it printed', () => {
  const st = pairStats('a', 'b', parsePingLog(synth(300, new Set([20]), { stats: false })), { intervalMs: 10 });
  assert.equal(st.incomplete, true);
  assert.equal(st.lost, 1);
  const empty = pairStats('a', 'b', parsePingLog(''), { intervalMs: 10 });
  assert.equal(empty.sent, 0);
  assert.equal(summarize([empty]).withinTarget, false);
});

test('sequence numbers wrap at 65536 (11 minutes at 10 ms) and stay in order', () => {
  const u = new SeqUnwrapper();
  assert.deepEqual([65534, 65535, 0, 1, 65535, 2].map((x) => u.unwrap(x)), [65534, 65535, 65536, 65537, 65535, 65538]);
  const lost = new Set([65540]);
  const st = pairStats('a', 'b', parsePingLog(synth(65600, lost)), { intervalMs: 10 });
  assert.equal(st.lost, 1);
  assert.equal(st.sent, 65590);
});

test('summary and table: totals, worst pair, target', () => {
  const a = pairStats('h1', 'h2', parsePingLog(synth(500, new Set([10, 11]))), { intervalMs: 10 });
  const b = pairStats('h2', 'h1', parsePingLog(synth(500, new Set())), { intervalMs: 10 });
  const s = summarize([a, b]);
  assert.equal(s.totalLost, 2);
  assert.equal(s.worst!.from, 'h1');
  assert.equal(s.withinTarget, true);
  assert.equal(summarize([a, b], 20).withinTarget, false);
  const t = formatMeasureTable(s, { intervalMs: 10, t0: 1795316900 });
  assert.match(t, /h1 → h2\s+490\s+2\s+0\.41%\s+30 ms\s+\+0\.09 s/);
  assert.match(t, /total: 2 of 980 packets lost/);
});

test('loss at the very start: no reply before it, the gap is estimated from the interval and has no time', () => {
  const st = pairStats('a', 'b', parsePingLog(synth(300, new Set([1, 2, 3, 4, 5]))), { intervalMs: 10 });
  assert.equal(st.lost, 5);
  assert.equal(st.longestRun, 5);
  assert.equal(st.longestGapMs, 60); // (5 + 1) × 10 ms
  assert.equal(st.longestGapAt, undefined);
  assert.equal(summarize([st], 59).withinTarget, false);
  assert.equal(summarize([st], 60).withinTarget, true);
});

test('a late reply without loss shows as silence, not as a gap', () => {
  const text = synth(300, new Set()).replace('[1795316901.000000] 64 bytes', '[1795316901.500000] 64 bytes');
  const st = pairStats('a', 'b', parsePingLog(text), { intervalMs: 10 });
  assert.equal(st.lost, 0);
  assert.equal(st.longestGapMs, 0);
  assert.ok(Math.abs(st.maxSilenceMs - 510) < 0.5, `maxSilence ${st.maxSilenceMs}`);
});
