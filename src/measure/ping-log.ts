/**
 * Parses the output of iputils `ping -n -D -O -i <interval> <target>` (one process per host pair) into
 * per-packet facts: which sequence numbers were answered and when, which were reported unanswered (-O),
 * ICMP errors, and the final statistics line. Pure: the measurement's numbers come from here.
 *
 *   [1795316907.104468] 64 bytes from 10.244.2.253: icmp_seq=1 ttl=62 time=0.230 ms
 *   [1795316915.258906] no answer yet for icmp_seq=2
 *   [1795316918.435098] From 10.244.1.1 icmp_seq=3 Destination Host Unreachable
 *   7 packets transmitted, 5 received, +1 errors, 28.5714% packet loss, time 3089ms
 */

export interface PingReply {
  /** unwrapped sequence number (iputils prints it modulo 65536) */
  seq: number;
  /** unix time of the reply, seconds (-D) */
  t: number;
  rttMs?: number;
}

export interface PingLog {
  target?: string;
  replies: PingReply[];
  /** sequence numbers -O reported as unanswered when the next one was sent, with that time */
  noAnswer: { seq: number; t: number }[];
  /** ICMP errors (e.g. Destination Host Unreachable) by sequence number */
  errors: { seq: number; t: number; text: string }[];
  /** from the statistics line; undefined when ping did not print it (killed hard) */
  transmitted?: number;
  received?: number;
  duplicates: number;
}

const TS = /^\[(\d+(?:\.\d+)?)\]\s+(.*)$/;
const REPLY = /^\d+ bytes from ([^:]+): icmp_seq=(\d+)(?:.*?\btime=([\d.]+) ms)?/;
const NO_ANSWER = /^no answer yet for icmp_seq=(\d+)/;
const ERROR = /^From (\S+) icmp_seq=(\d+) (.*)$/;
const STATS = /^(\d+) packets transmitted, (\d+) (?:packets )?received/;
const HEADER = /^PING (\S+)/;

/**
 * Turns icmp_seq values that wrap at 65536 into a monotonic sequence: each value is placed in the 65536
 * window closest to the highest one seen so far (packets are sent in order; a reply is never 32768
 * intervals late).
 */
export class SeqUnwrapper {
  private last = -1;

  unwrap(raw: number): number {
    if (this.last < 0) {
      this.last = raw;
      return raw;
    }
    const v = raw + Math.round((this.last - raw) / 65536) * 65536;
    if (v > this.last) this.last = v;
    return v;
  }
}

export function parsePingLog(text: string): PingLog {
  const log: PingLog = { replies: [], noAnswer: [], errors: [], duplicates: 0 };
  const seen = new Set<number>();
  const unwrap = new SeqUnwrapper();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const h = HEADER.exec(line);
    if (h) {
      log.target = h[1]!;
      continue;
    }
    const st = STATS.exec(line);
    if (st) {
      log.transmitted = Number(st[1]);
      log.received = Number(st[2]);
      continue;
    }
    const ts = TS.exec(line);
    if (!ts) continue;
    const t = Number(ts[1]);
    const rest = ts[2]!;
    const r = REPLY.exec(rest);
    if (r) {
      const seq = unwrap.unwrap(Number(r[2]));
      if (seen.has(seq) || rest.includes('(DUP!)')) {
        log.duplicates++;
        continue;
      }
      seen.add(seq);
      log.replies.push({ seq, t, ...(r[3] !== undefined ? { rttMs: Number(r[3]) } : {}) });
      continue;
    }
    const n = NO_ANSWER.exec(rest);
    if (n) {
      log.noAnswer.push({ seq: unwrap.unwrap(Number(n[1])), t });
      continue;
    }
    const e = ERROR.exec(rest);
    if (e) log.errors.push({ seq: unwrap.unwrap(Number(e[2])), t, text: e[3]!.trim() });
  }
  log.replies.sort((a, b) => a.seq - b.seq);
  return log;
}
