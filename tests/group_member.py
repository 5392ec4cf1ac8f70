"""A confluent-kafka group consumer run as a subprocess by test_groups.py.

    python group_member.py '<consumer conf JSON>' '<topics JSON>' <max seconds>

It subscribes and polls, printing one JSON object per line to stdout:
  {"ev": "assign"|"revoke"|"lost", "parts": [[topic, partition], ...]}   rebalance callbacks
  {"ev": "assignment", "parts": [...]}    the consumer's full assignment, whenever it changes
  {"ev": "msg", "t": topic, "p": partition, "o": offset, "v": value}
  {"ev": "error", "code": n, "text": "..."}
  {"ev": "closed"}                         after close() returned
It calls close() (leave the group, commit if auto-commit is on) when it reads "close" or EOF
on stdin, and after <max seconds> at the latest. Test processes kill -9 it to simulate a crash.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError


def main() -> int:
    conf = json.loads(sys.argv[1])
    topics = json.loads(sys.argv[2])
    max_runtime_s = float(sys.argv[3])
    lock = threading.Lock()

    def emit(**event) -> None:
        with lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    def parts(tps) -> list:
        return sorted([tp.topic, tp.partition] for tp in tps)

    consumer = Consumer(conf)
    consumer.subscribe(topics,
                       on_assign=lambda c, tps: emit(ev="assign", parts=parts(tps)),
                       on_revoke=lambda c, tps: emit(ev="revoke", parts=parts(tps)),
                       on_lost=lambda c, tps: emit(ev="lost", parts=parts(tps)))
    stop = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "close":
                break
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    deadline = time.monotonic() + max_runtime_s
    last = None
    polls = 0
    while not stop.is_set() and time.monotonic() < deadline and polls < 1_000_000:
        polls += 1
        msg = consumer.poll(0.1)
        now = parts(consumer.assignment())
        if now != last:
            emit(ev="assignment", parts=now)
            last = now
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                emit(ev="error", code=msg.error().code(), text=str(msg.error()))
            continue
        emit(ev="msg", t=msg.topic(), p=msg.partition(), o=msg.offset(),
             v=msg.value().decode())
    consumer.close()
    emit(ev="closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
